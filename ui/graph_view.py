"""Drawing a :class:`cvlab_ch9.model_graph.ModelGraph` as SVG: layers as boxes, output shapes on the edges.

:func:`graph_svg` lays the graph out top to bottom (:func:`cvlab_ch9.graph_layout.layered_layout`)
and returns one ``<svg>`` string, in the spirit of Netron and the TensorBoard graph view:

- a box per layer, coloured by kind, with its class, its name and a bar for
  its share of the model's parameters (the count beside it);
- an arrow per connection labelled with the shape that travels on it; the
  skip connection of each residual block in orange, into its ``Add``;
- a residual block collapsed into one dashed box (▸, click to open) or
  framed when open (▾, click its title to close);
- the first difference from the other graph outlined in red, the layer
  picked for its output outlined in blue.

Clickable parts carry ``data-layer`` (the layer's index) or ``data-block``
(the block's name); :data:`CLICK_JS` turns a click into a Gradio event.
"""

import html

from cvlab_ch9.graph_layout import layered_layout
from cvlab_ch9.model_graph import shape_text, shortcut_edges, visible_graph

NODE_W, NODE_H = 210, 46
COLUMN, ROW = 250, 84
MARGIN = 24
#: (fill, stroke) by layer kind; anything else is grey.
COLOURS = {
    "InputLayer": ("#f1f5f9", "#64748b"),
    "Conv2D": ("#dbeafe", "#2563eb"),
    "Conv2DTranspose": ("#e0e7ff", "#4f46e5"),
    "SeparableConv2D": ("#ccfbf1", "#0d9488"),
    "DepthwiseConv2D": ("#ccfbf1", "#0d9488"),
    "BatchNormalization": ("#f3e8ff", "#9333ea"),
    "MaxPooling2D": ("#dcfce7", "#16a34a"),
    "GlobalAveragePooling2D": ("#dcfce7", "#16a34a"),
    "Add": ("#ffedd5", "#ea580c"),
    "Dense": ("#fce7f3", "#db2777"),
}
OTHER = ("#f8fafc", "#94a3b8")
SHORTCUT = "#ea580c"
DIFFERENCE = "#dc2626"
SELECTED = "#2563eb"

#: js_on_load of the gr.HTML showing a graph: a click on a layer or a block title becomes a "click" event.
CLICK_JS = """
element.addEventListener('click', (event) => {
  const block = event.target.closest('[data-block]');
  if (block) { trigger('click', {block: block.dataset.block}); return; }
  const layer = event.target.closest('[data-layer]');
  if (layer) trigger('click', {layer: Number(layer.dataset.layer)});
});
"""
CSS = """
.cvlab-graph { overflow: auto; max-height: 720px; border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: #fff; }
.cvlab-graph svg { display: block; margin: 0 auto; max-width: 100%; height: auto; }
.cvlab-graph [data-layer], .cvlab-graph [data-block] { cursor: pointer; }
.cvlab-graph [data-layer]:hover rect.box { stroke-width: 3; }
"""


def _esc(text):
    return html.escape(str(text), quote=True)


def _short(text, limit=26):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _point(position):
    x, layer = position
    return MARGIN + x * COLUMN + NODE_W / 2, MARGIN + layer * ROW


def _bar(x, y, params, max_params):
    """The parameter bar at the bottom of a box: its length is the share of the largest layer's count."""
    if params <= 0 or max_params <= 0:
        return ""
    width = max(2.0, (NODE_W - 80) * params / max_params)
    return (f'<rect x="{x + 8:.1f}" y="{y + NODE_H - 11:.1f}" width="{width:.1f}" height="6" rx="2" fill="#475569" opacity="0.55"/>'
            f'<text x="{x + NODE_W - 8:.1f}" y="{y + NODE_H - 5:.1f}" font-size="10" text-anchor="end" fill="#334155">'
            f'{params:,}</text>')


def _box(x, y, colours, dashed=False, outline=None):
    fill, stroke = colours
    stroke, width = (outline, 4) if outline else (stroke, 1.5)
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return (f'<rect class="box" x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="7" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{width}"{dash}/>')


def _layer_node(node, x, y, max_params, outline, note):
    kind = "⊕ Add" if node.kind == "Add" else node.kind
    title = f"#{node.index} {node.name} ({node.kind}) → {shape_text(node.shape)}, {node.params:,} parameters"
    parts = [
        f'<g data-layer="{node.index}"><title>{_esc(title)}</title>',
        _box(x, y, COLOURS.get(node.kind, OTHER), outline=outline),
        f'<text x="{x + 8:.1f}" y="{y + 16:.1f}" font-size="13" font-weight="600" fill="#0f172a">{_esc(_short(kind, 24))}</text>',
        f'<text x="{x + NODE_W - 8:.1f}" y="{y + 16:.1f}" font-size="10" text-anchor="end" fill="#64748b">#{node.index}</text>',
        f'<text x="{x + 8:.1f}" y="{y + 29:.1f}" font-size="10" fill="#475569">{_esc(_short(node.name, 32))}</text>',
        _bar(x, y, node.params, max_params),
        _note(x, y, note),
        "</g>",
    ]
    return "".join(parts)


def _note(x, y, note):
    if not note:
        return ""
    text, colour = note
    return (f'<text x="{x + NODE_W + 8:.1f}" y="{y + 18:.1f}" font-size="12" font-weight="600" fill="{colour}">'
            f'{_esc(text)}</text>')


def _block_node(graph, block, x, y, max_params, outline, note):
    members = [graph.nodes[m] for m in block.members]
    params = sum(n.params for n in members)
    entry = graph.nodes[block.entry]
    title = (f"{block.name}: {len(members)} layers, {params:,} parameters, {shape_text(entry.shape)} → "
             f"{shape_text(members[-1].shape)} (click to open)")
    return "".join([
        f'<g data-block="{_esc(block.name)}"><title>{_esc(title)}</title>',
        _box(x, y, ("#fff7ed", SHORTCUT), dashed=True, outline=outline),
        f'<text x="{x + 8:.1f}" y="{y + 16:.1f}" font-size="13" font-weight="600" fill="#9a3412">▸ {_esc(_short(block.name, 14))}</text>',
        f'<text x="{x + NODE_W - 8:.1f}" y="{y + 16:.1f}" font-size="10" text-anchor="end" fill="#64748b">{len(members)} layers</text>',
        f'<text x="{x + 8:.1f}" y="{y + 29:.1f}" font-size="10" fill="#475569">residual block, ends in {_esc(members[-1].kind)}</text>',
        _bar(x, y, params, max_params),
        _note(x, y, note),
        "</g>",
    ])


def _edge(points, label, shortcut):
    colour, width = (SHORTCUT, 2.4) if shortcut else ("#64748b", 1.4)
    path = "M " + " L ".join(f"{px:.1f} {py:.1f}" for px, py in points)
    marker = "cvlab-arrow-skip" if shortcut else "cvlab-arrow"
    (x0, y0), (x1, y1) = points[0], points[1]
    lx, ly = (x0 + x1) / 2 + 6, (y0 + y1) / 2 + 4
    text = (f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="10" fill="{colour}" stroke="#fff" stroke-width="3" '
            f'paint-order="stroke">{_esc(label)}</text>') if label else ""
    return (f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width}" marker-end="url(#{marker})"/>{text}')


def _defs():
    arrows = "".join(
        f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
        for name, colour in (("cvlab-arrow", "#64748b"), ("cvlab-arrow-skip", SHORTCUT))
    )
    return f"<defs>{arrows}</defs>"


def _frames(graph, expanded, where):
    """A frame with a clickable title (▾ name) around each open block."""
    parts = []
    for block in graph.blocks:
        if block.name not in expanded:
            continue
        boxes = [where[f"l{m}"] for m in block.members if f"l{m}" in where]
        if not boxes:
            continue
        left = min(x for x, _ in boxes) - 10
        top = min(y for _, y in boxes) - 22
        right = max(x for x, _ in boxes) + NODE_W + 10
        bottom = max(y for _, y in boxes) + NODE_H + 8
        parts.append(
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{right - left:.1f}" height="{bottom - top:.1f}" rx="10" '
            f'fill="#fff7ed" fill-opacity="0.55" stroke="{SHORTCUT}" stroke-dasharray="4 4"/>'
            f'<g data-block="{_esc(block.name)}"><title>{_esc(block.name)} (click to close)</title>'
            f'<text x="{left + 8:.1f}" y="{top + 15:.1f}" font-size="12" font-weight="600" fill="#9a3412">'
            f'▾ {_esc(block.name)}</text></g>'
        )
    return "".join(parts)


def graph_svg(graph, expanded=(), difference=None, selected=None):
    """The SVG drawing of ``graph`` (a ModelGraph).

    Args:
        expanded: names of the blocks drawn open (the others are one box each).
        difference: index of the layer to outline as the first difference (its
            block's box when the block is closed), or None.
        selected: index of the layer whose output is shown, or None.

    Returns:
        str: an ``<svg>`` element sized to the drawing.
    """
    expanded = set(expanded)
    shown, edges = visible_graph(graph, expanded)
    keys = {s.key: i for i, s in enumerate(shown)}
    positions, routes = layered_layout(len(shown), [(keys[a], keys[b]) for a, b, _ in edges])
    where = {s.key: (MARGIN + positions[i][0] * COLUMN, MARGIN + 22 + positions[i][1] * ROW) for i, s in enumerate(shown)}
    block_of = graph.block_of()
    mark_key = None
    if difference is not None:
        mark_key = f"l{difference}" if f"l{difference}" in keys else f"b{block_of.get(difference)}"
    skips = shortcut_edges(graph)
    # bars are relative to the largest box drawn (a closed block counts its layers together)
    max_params = max([graph.nodes[s.layer].params if s.layer is not None else
                      sum(graph.nodes[m].params for m in graph.blocks[s.block].members) for s in shown], default=0)
    body = [_defs(), _frames(graph, expanded, where)]
    for (a, b, source), route in zip(edges, routes):
        (xa, ya), (xb, yb) = where[a], where[b]
        middle = [(MARGIN + x * COLUMN + NODE_W / 2, MARGIN + 22 + y * ROW + NODE_H / 2) for x, y in route]
        points = [(xa + NODE_W / 2, ya + NODE_H), *middle, (xb + NODE_W / 2, yb)]
        target = shown[keys[b]]
        is_skip = target.layer is not None and (source, target.layer) in skips
        body.append(_edge(points, shape_text(graph.nodes[source].shape), is_skip))
    for s in shown:
        x, y = where[s.key]
        outline = DIFFERENCE if s.key == mark_key else (SELECTED if s.layer is not None and s.layer == selected else None)
        note = ("≠ first difference", DIFFERENCE) if s.key == mark_key else None
        if s.layer is not None:
            body.append(_layer_node(graph.nodes[s.layer], x, y, max_params, outline, note))
        else:
            body.append(_block_node(graph, graph.blocks[s.block], x, y, max_params, outline, note))
    width = MARGIN * 2 + (max((p[0] for p in positions), default=0) + 1) * COLUMN + 140
    height = MARGIN * 2 + 22 + (max((p[1] for p in positions), default=0) + 1) * ROW
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="ui-sans-serif, system-ui, sans-serif" '
            f'role="img" aria-label="{_esc(graph.name)}: {len(graph.nodes)} layers">{"".join(body)}</svg>')


def legend_html():
    """A one-line legend: colours by layer kind, the skip connection, the parameter bar, the marks."""
    items = [(kind, COLOURS[kind]) for kind in ("Conv2D", "SeparableConv2D", "Conv2DTranspose", "BatchNormalization",
                                                 "MaxPooling2D", "Add", "Dense")]
    swatches = "".join(
        f'<span style="display:inline-block;margin-right:10px"><span style="display:inline-block;width:12px;height:12px;'
        f'background:{fill};border:1.5px solid {stroke};border-radius:3px;vertical-align:middle"></span> {kind}</span>'
        for kind, (fill, stroke) in items
    )
    return (f'<div style="font-size:12px;line-height:1.9">{swatches}'
            f'<span style="color:{SHORTCUT};font-weight:600">━ skip connection</span> · bar = parameters (share of the largest box) · '
            f'<span style="color:{DIFFERENCE};font-weight:600">red</span>: first difference · '
            f'<span style="color:{SELECTED};font-weight:600">blue</span>: the layer shown below · click ▸/▾ to open or close a block</div>')


def graph_html(graph, expanded=(), difference=None, selected=None):
    """The graph in a scrolling frame (the value of a gr.HTML), or "" for no graph."""
    if graph is None:
        return ""
    return f'<div class="cvlab-graph">{graph_svg(graph, expanded, difference, selected)}</div>'
