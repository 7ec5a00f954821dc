"""The Architecture and Segmentation pictures: drawing model graphs, and the time of a click."""

from bench.timing import fmt_s, median, table, time_call


def _graph_rows(models, repeat):
    """One row per (name, model, expanded?): layers, read the graph, lay out and draw it, both together (medians)."""
    from cvlab_ch9.model_graph import model_graph  # noqa: PLC0415
    from cvlab_ch9.ui.graph_view import graph_html  # noqa: PLC0415

    rows = []
    for name, model in models:
        graph = model_graph(model)
        for label, expanded in (("blocks closed", ()), ("every block open", [b.name for b in graph.blocks])):
            read = [time_call(lambda m=model: model_graph(m))[0] for _ in range(repeat)]
            draw = [time_call(lambda g=graph, e=expanded: graph_html(g, e))[0] for _ in range(repeat)]
            both = [time_call(lambda m=model, e=expanded: graph_html(model_graph(m), e))[0] for _ in range(repeat)]
            rows.append([name, label, len(graph.nodes), len(graph.blocks), fmt_s(median(read)), fmt_s(median(draw)),
                         fmt_s(median(both))])
    return rows


def architecture(quick):
    """Model graphs of the ImageNet Xception (real architecture, random weights) and the mini-Xception; time per click."""
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    from cvlab_ch9.graph_layout import layered_layout  # noqa: PLC0415
    from cvlab_ch9.impl import reference_lab  # noqa: PLC0415
    from cvlab_ch9.ui import architecture_graph, architecture_models, pipeline  # noqa: PLC0415
    from cvlab_ch9.ui.resources import example_images  # noqa: PLC0415

    repeat = 1 if quick else 5
    first_layout, _ = time_call(lambda: layered_layout(2, [(0, 1)]))  # the first call imports igraph
    xception = keras.applications.Xception(weights=None)
    mini = reference_lab("architecture").build_mini_xception()
    graphs = table(
        f"Model graphs: read from the model, laid out by igraph and drawn as SVG (median of {repeat}; "
        f"the first layout in a process also imports igraph: {fmt_s(first_layout)})",
        ["model", "drawn with", "layers", "blocks", "read", "lay out + draw", "read + lay out + draw"],
        _graph_rows([("ImageNet Xception(weights=None)", xception), ("mini-Xception (chapter)", mini)], repeat),
    )
    image = example_images("pet_")[0]
    mini_settings = (architecture_models.MINI_XCEPTION, *architecture_models.settings_for_choice(architecture_models.MINI_XCEPTION))
    architecture_graph.draw_graphs("solutions", *mini_settings)  # built once: the click on a layer reuses the models
    clicks = {
        "Segmentation: Show the pipeline (demo weights)": lambda: pipeline.run_pipeline("solutions", image),
        "Segmentation: Show the pipeline + MaxPooling2D variant": lambda: pipeline.run_pipeline("solutions", image, pooling=True),
        "Architecture: Compare (mini-Xception, both graphs, models cached)": lambda: architecture_graph.draw_graphs(
            "solutions", *mini_settings),
        "Architecture: click a layer (mini-Xception, #12)": lambda: architecture_graph.layer_output(
            "solutions", *mini_settings, image, "#12 x"),
    }
    for click in clicks.values():
        click()  # warm: traced functions, loaded models
    rows = [[name, fmt_s(median([time_call(click)[0] for _ in range(repeat)]))] for name, click in clicks.items()]
    return graphs + "\n\n" + table(f"Time per click, event function only (median of {repeat}, after one warm-up)", ["click", "time"], rows)
