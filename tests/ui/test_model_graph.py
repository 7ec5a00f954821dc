"""cvlab_ch9.model_graph, cvlab_ch9.graph_layout and the SVG drawing (cvlab_ch9.ui.graph_view), on tiny models."""

import dataclasses

import pytest

from cvlab_ch9.graph_layout import layered_layout
from cvlab_ch9.impl import reference_lab
from cvlab_ch9.model_graph import (
    ModelGraph,
    difference_sentence,
    first_difference,
    model_graph,
    shape_text,
    shortcut_edges,
    visible_graph,
)
from cvlab_ch9.quiet import import_tensorflow
from cvlab_ch9.ui.graph_view import DIFFERENCE, SELECTED, SHORTCUT, graph_svg
from tests.ui.architecture_cases import no_projection_block


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    import_tensorflow()


def residual_net(residual_block, input_side=16):
    """Input -> a pooling residual block (16 -> 8) -> a block that projects 8 -> 12 channels."""
    import keras  # noqa: PLC0415 - after import_tensorflow() (quiet logs)

    inputs = keras.Input((input_side, input_side, 3))
    x = residual_block(inputs, 8, pooling=True)
    return keras.Model(inputs, residual_block(x, 12))


@pytest.fixture(scope="module")
def reference_graph():
    return model_graph(residual_net(reference_lab("architecture").residual_block))


def test_layers_edges_and_blocks_of_a_residual_network(reference_graph):
    graph = reference_graph
    kinds = [n.kind for n in graph.nodes]
    assert kinds == ["InputLayer", "Conv2D", "Conv2D", "MaxPooling2D", "Conv2D", "Add", "Conv2D", "Conv2D", "Conv2D", "Add"]
    assert graph.nodes[5].inputs == (3, 4) and graph.nodes[4].inputs == (0,)  # the strided 1x1 projection of the input
    assert graph.nodes[5].shape == (8, 8, 8) and shape_text(graph.nodes[9].shape) == "8×8×12"
    assert graph.total_params == sum(n.params for n in graph.nodes) and graph.nodes[1].params == 3 * 3 * 3 * 8 + 8
    assert [(b.name, b.members, b.entry) for b in graph.blocks] == [("block 1", (1, 2, 3, 4, 5), 0), ("block 2", (6, 7, 8, 9), 5)]
    # the skip connections: input -> 1x1 conv -> Add, and the second block's projection
    assert shortcut_edges(graph) == {(0, 4), (4, 5), (5, 8), (8, 9)}
    assert ModelGraph.from_dict(graph.to_dict()) == graph


def test_keras_applications_blocks_keep_their_names_and_a_sequential_model_gets_its_input():
    import keras  # noqa: PLC0415 - after import_tensorflow() (quiet logs)
    from keras import layers  # noqa: PLC0415 - after import_tensorflow()

    inputs = keras.Input((8, 8, 4), name="image")
    x = layers.Conv2D(4, 3, padding="same", name="block2_sepconv1")(inputs)
    x = layers.Activation("relu", name="block2_sepconv1_act")(x)
    x = layers.add([x, inputs], name="add")
    graph = model_graph(keras.Model(inputs, x))
    assert [b.name for b in graph.blocks] == ["block2"]
    assert shortcut_edges(graph) == {(0, 3)}  # an identity shortcut: straight into the Add
    sequential = keras.Sequential([keras.Input((6, 6, 3)), layers.Conv2D(2, 3)])
    nodes = model_graph(sequential).nodes
    assert [n.kind for n in nodes] == ["InputLayer", "Conv2D"] and nodes[1].inputs == (0,) and nodes[1].shape == (4, 4, 2)


def test_closed_blocks_are_one_node_and_their_edges_carry_the_shapes(reference_graph):
    shown, edges = visible_graph(reference_graph)
    assert [s.key for s in shown] == ["l0", "b0", "b1"]
    assert edges == [("l0", "b0", 0), ("b0", "b1", 5)]  # the block's Add feeds the next block
    shown, edges = visible_graph(reference_graph, expanded=["block 1"])
    assert [s.key for s in shown] == ["l0", "l1", "l2", "l3", "l4", "l5", "b1"]
    assert ("l0", "l4", 0) in edges and ("l5", "b1", 5) in edges


def test_the_first_difference_is_found_and_said(reference_graph):
    assert first_difference(reference_graph, reference_graph) is None
    assert "Same graph" in difference_sentence(reference_graph, reference_graph, None)
    mine = model_graph(residual_net(no_projection_block()))
    index = first_difference(mine, reference_graph)
    # Keras orders layers by depth: the pooled shortcut (of the 3-channel input) comes where the main path's pooling is
    assert index == 3
    sentence = difference_sentence(mine, reference_graph, index)
    assert sentence == ("First difference at layer #3: yours is MaxPooling2D → 8×8×3, 0 params; "
                        "the reference has MaxPooling2D → 8×8×8, 0 params.")
    shorter = ModelGraph("short", reference_graph.nodes[:6])
    assert first_difference(shorter, reference_graph) == 6
    assert "yours ends there" in difference_sentence(shorter, reference_graph, 6)


def test_same_layers_wired_differently_is_a_difference_of_inputs(reference_graph):


    nodes = list(reference_graph.nodes)
    nodes[5] = dataclasses.replace(nodes[5], inputs=(3, 3))
    rewired = ModelGraph("rewired", nodes, reference_graph.blocks)
    assert first_difference(rewired, reference_graph) == 5
    assert "its inputs are #3 MaxPooling2D, #3 MaxPooling2D in yours" in difference_sentence(rewired, reference_graph, 5)


def test_the_layout_routes_a_skip_connection_around_the_layers_it_jumps():
    positions, routes = layered_layout(4, [(0, 1), (1, 2), (2, 3), (0, 3)])
    assert [layer for _, layer in positions] == [0.0, 1.0, 2.0, 3.0]
    assert routes[:3] == [[], [], []] and len(routes[3]) == 2  # bend points on layers 1 and 2
    assert all(x != positions[1][0] for x, _ in routes[3])  # beside the chain, not through it


def test_the_drawing_marks_the_difference_the_selection_and_the_skips(reference_graph):
    svg = graph_svg(reference_graph, expanded=["block 1", "block 2"], difference=4, selected=2)
    assert svg.startswith("<svg") and svg.count('data-layer="') == len(reference_graph.nodes)
    assert "⊕ Add" in svg and "8×8×12" in svg and "▾ block 1" in svg
    assert f'stroke="{DIFFERENCE}" stroke-width="4"' in svg and f'stroke="{SELECTED}" stroke-width="4"' in svg
    assert svg.count(f'stroke="{SHORTCUT}" stroke-width="2.4"') == 4
    closed = graph_svg(reference_graph, difference=4)
    assert closed.count('data-layer="') == 1 and 'data-block="block 1"' in closed and "▸ block 1" in closed
    assert "≠ first difference" in closed  # on the closed block that holds layer 4
