"""A Keras model as a graph of layers: nodes, the edges between them, residual blocks, and where two graphs differ.

:func:`model_graph` reads a built model (Functional or Sequential) into a
:class:`ModelGraph`: one :class:`LayerNode` per layer in model order with its
class, output shape, parameter count and the layers feeding it. Residual
blocks are found from the structure alone: each merge layer (``Add``,
``Concatenate``, ...) closes a block that starts after the nearest layer
both of its branches come from, so the ImageNet Xception's 14 blocks, the
mini-Xception's and a student's residual blocks are found whatever their
layers are called. :func:`visible_graph` collapses blocks into one node each
(a 132-layer model becomes about 30 nodes), :func:`first_difference` finds
where a student's graph first departs from the reference's.

A ModelGraph is plain data (:meth:`ModelGraph.to_dict`): the UI records the
reference's graph into the student kit, and this module needs no Keras.
"""

from __future__ import annotations

import dataclasses
import re

#: Layer classes that join branches (the end of a residual block).
MERGE_TYPES = ("Add", "Concatenate", "Multiply", "Average", "Maximum", "Minimum", "Subtract")
_BLOCK_PREFIX = re.compile(r"^(block\d+)_")


@dataclasses.dataclass(frozen=True)
class LayerNode:
    """One layer: ``index`` in model order, ``kind`` its class name, ``shape`` its output shape without the batch axis."""

    index: int
    name: str
    kind: str
    shape: tuple
    params: int
    inputs: tuple = ()

    def signature(self):
        """What must agree between a student's layer and the reference's: class, shape, parameters, inputs."""
        return (self.kind, self.shape, self.params, self.inputs)


@dataclasses.dataclass(frozen=True)
class Block:
    """A residual block: layers ``members`` (indices, the merge layer last), entered from layer ``entry``."""

    index: int
    name: str
    members: tuple
    entry: int

    @property
    def exit(self):
        return self.members[-1]


@dataclasses.dataclass
class ModelGraph:
    """The layers of a model (in model order) and its residual blocks."""

    name: str
    nodes: list
    blocks: list = dataclasses.field(default_factory=list)

    @property
    def total_params(self):
        return sum(n.params for n in self.nodes)

    def edges(self):
        """``[(source index, target index)]`` for every connection, in model order of the targets."""
        return [(i, n.index) for n in self.nodes for i in n.inputs]

    def block_of(self):
        """``{layer index: block index}`` for the layers inside a block."""
        return {m: b.index for b in self.blocks for m in b.members}

    def to_dict(self):
        """JSON-able form (lists for tuples)."""
        return {
            "name": self.name,
            "nodes": [[n.name, n.kind, list(n.shape), n.params, list(n.inputs)] for n in self.nodes],
            "blocks": [[b.name, list(b.members), b.entry] for b in self.blocks],
        }

    @classmethod
    def from_dict(cls, data):
        nodes = [LayerNode(i, name, kind, tuple(shape), int(params), tuple(inputs))
                 for i, (name, kind, shape, params, inputs) in enumerate(data["nodes"])]
        blocks = [Block(i, name, tuple(members), entry) for i, (name, members, entry) in enumerate(data["blocks"])]
        return cls(data["name"], nodes, blocks)


def shape_text(shape):
    """``(90, 90, 32)`` -> ``"90×90×32"``; unknown sizes are ``?``; ``()`` -> ``"?"``."""
    return "×".join("?" if s is None else str(s) for s in shape) if shape else "?"


# -- reading a Keras model ---------------------------------------------------------------------


def _history_layer(tensor):
    """The layer that produced a symbolic tensor."""
    return tensor._keras_history.operation  # Keras' own record of the layer that made it


def _own_calls(layer, known):
    """The layer's inbound calls whose inputs all come from layers of this model (a shared layer has others)."""
    calls = []
    for node in getattr(layer, "_inbound_nodes", []):
        sources = [_history_layer(t) for t in node.input_tensors]
        if all(id(s) in known for s in sources):
            calls.append((node, sources))
    return calls


def _output_shape(layer, call):
    try:
        tensors = call.output_tensors if call is not None else [layer.output]
        return tuple(tensors[0].shape[1:])
    except (AttributeError, ValueError, IndexError):
        return ()


def model_graph(model, name=None):
    """Read a built Keras model into a :class:`ModelGraph`.

    Args:
        model: a Functional or Sequential ``keras.Model`` (a nested model is one node).
        name: the graph's name (default ``model.name``).

    Returns:
        ModelGraph with every layer in model order (an input layer first,
        also for a Sequential model), its output shape without the batch
        axis (a tuple of ints, None for unknown sizes), parameter count and
        inputs, and the residual blocks (:func:`find_blocks`).
    """
    layers = list(model.layers)
    sources = {id(_history_layer(t)): _history_layer(t) for t in model.inputs}
    for layer in sources.values():
        if all(layer is not other for other in layers):
            layers.insert(0, layer)  # a Sequential model's InputLayer is not in model.layers
    index = {id(layer): i for i, layer in enumerate(layers)}
    nodes = []
    for i, layer in enumerate(layers):
        calls = _own_calls(layer, index)
        call, inputs = calls[0] if calls else (None, [])
        nodes.append(LayerNode(
            index=i, name=layer.name, kind=type(layer).__name__, shape=_output_shape(layer, call),
            params=int(layer.count_params()) if layer.built else 0,
            inputs=tuple(index[id(s)] for s in inputs),
        ))
    graph = ModelGraph(name or model.name, nodes)
    graph.blocks = find_blocks(graph.nodes)
    return graph


# -- residual blocks -------------------------------------------------------------------------


def _ancestors(nodes):
    """Bit set (an int) of every layer feeding each layer, directly or not."""
    bits = []
    for node in nodes:
        mask = 0
        for i in node.inputs:
            mask |= bits[i] | (1 << i)
        bits.append(mask)
    return bits


def _members(bits):
    return [i for i in range(bits.bit_length()) if bits >> i & 1]


def _block_name(nodes, members, number):
    prefixes = [m.group(1) for m in (_BLOCK_PREFIX.match(nodes[i].name) for i in members) if m]
    if prefixes and len(prefixes) * 2 > len(members):
        return max(set(prefixes), key=prefixes.count)  # keras.applications' blockN_ names
    return f"block {number}"


def find_blocks(nodes):
    """The residual blocks of ``nodes`` (LayerNodes in model order): one per merge layer, not overlapping.

    A block is every layer after the merge's *entry* (the nearest layer
    that all of the merge's inputs come from) that leads to the merge, the
    merge included. A block overlapping an earlier one is left out.
    """
    bits = _ancestors(nodes)
    blocks, taken = [], 0
    for node in nodes:
        if node.kind not in MERGE_TYPES or len(node.inputs) < 2:
            continue
        common = ~0
        for i in node.inputs:
            common &= bits[i] | (1 << i)
        if common <= 0:
            continue  # branches from different model inputs: no single entry
        entry = common.bit_length() - 1
        inside = (bits[node.index] & ~((1 << (entry + 1)) - 1)) | (1 << node.index)
        members = [m for m in _members(inside) if bits[m] >> entry & 1 or m == node.index]
        mask = sum(1 << m for m in members)
        if mask & taken:
            continue
        taken |= mask
        blocks.append(Block(len(blocks), _block_name(nodes, members, len(blocks) + 1), tuple(members), entry))
    return blocks


def shortcut_edges(graph):
    """``{(source, target)}``: the edges of each block's shortest branch into its merge (the skip connection)."""
    depth = []
    for node in graph.nodes:
        depth.append(1 + max((depth[i] for i in node.inputs), default=-1))
    edges = set()
    for block in graph.blocks:
        merge = graph.nodes[block.exit]
        branches = sorted(merge.inputs, key=lambda i: depth[i])
        for start in branches[:-1]:
            target, current = merge.index, start
            while True:
                edges.add((current, target))
                if current == block.entry or len(graph.nodes[current].inputs) != 1:
                    break
                target, current = current, graph.nodes[current].inputs[0]
    return edges


# -- collapsing ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Shown:
    """A node of the drawn graph: a layer (``layer`` set) or a collapsed block (``block`` set)."""

    key: str
    layer: int | None = None
    block: int | None = None


def visible_graph(graph, expanded=()):
    """The nodes and edges drawn when the blocks not in ``expanded`` (block names) are collapsed.

    Returns:
        (shown, edges): ``shown`` a list of :class:`Shown` in model order
        (a collapsed block where its first layer was); ``edges`` a list of
        ``(source key, target key, source layer index)``: the layer whose
        output travels on the edge (its shape is the edge's label).
    """
    expanded = set(expanded)
    owner = {}
    for block in graph.blocks:
        if block.name not in expanded:
            owner.update(dict.fromkeys(block.members, f"b{block.index}"))
    shown, seen = [], set()
    for node in graph.nodes:
        key = owner.get(node.index, f"l{node.index}")
        if key not in seen:
            seen.add(key)
            block = int(key[1:]) if key.startswith("b") else None
            shown.append(Shown(key, layer=None if block is not None else node.index, block=block))
    edges, pairs = [], set()
    for source, target in graph.edges():
        a, b = owner.get(source, f"l{source}"), owner.get(target, f"l{target}")
        if a != b and (a, b) not in pairs:
            pairs.add((a, b))
            edges.append((a, b, source))
    return shown, edges


# -- comparing two graphs --------------------------------------------------------------------


def first_difference(mine, reference):
    """Index of the first layer where ``mine`` and ``reference`` differ (class, shape, parameters or inputs), or None.

    A graph that is a prefix of the other differs at the first layer only the longer one has.
    """
    for a, b in zip(mine.nodes, reference.nodes):
        if a.signature() != b.signature():
            return a.index
    if len(mine.nodes) != len(reference.nodes):
        return min(len(mine.nodes), len(reference.nodes))
    return None


def describe_node(node):
    """``"Conv2D → 90×90×32, 896 params"`` for messages."""
    return f"{node.kind} → {shape_text(node.shape)}, {node.params:,} params"


def difference_sentence(mine, reference, index):
    """One sentence on the first difference at layer ``index`` (see :func:`first_difference`)."""
    if index is None:
        return "✓ Same graph as the reference: layers, shapes, parameters and connections agree."
    a = mine.nodes[index] if index < len(mine.nodes) else None
    b = reference.nodes[index] if index < len(reference.nodes) else None
    if a is None:
        return f"First difference at layer #{index}: yours ends there; the reference goes on with {describe_node(b)}."
    if b is None:
        return f"First difference at layer #{index}: yours goes on with {describe_node(a)}; the reference ends there."
    if a.signature()[:3] == b.signature()[:3]:
        mine_in = ", ".join(f"#{i} {mine.nodes[i].kind}" for i in a.inputs) or "nothing"
        ref_in = ", ".join(f"#{i} {reference.nodes[i].kind}" for i in b.inputs) or "nothing"
        return (f"First difference at layer #{index} ({a.kind}): its inputs are {mine_in} in yours, "
                f"{ref_in} in the reference.")
    return f"First difference at layer #{index}: yours is {describe_node(a)}; the reference has {describe_node(b)}."
