"""The lab UI's frame in a notebook's output: sized to the app, and never left dead in a saved notebook.

Two small scripts:

- :data:`APP_HEAD` goes into the app's page (``launch(head=...)``): inside a
  frame, it posts the height of the page's content to the parent whenever
  it changes (a tab switched, results arrived).
- :func:`frame_html` is the cell's output: a ``<div>`` whose text says the UI
  is not running (what an untrusted or reopened notebook shows: Jupyter
  runs no script there) and a script that replaces that text with the
  frame once the app answers, and resizes the frame to the heights the app
  posts. In a notebook reopened after its kernel stopped, the script finds
  no app and keeps the sentence: no dead frame.
"""

import html
import json
import secrets

#: Posted by the app's page to its parent: {"cvlabLabHeight": pixels}.
HEIGHT_MESSAGE = "cvlabLabHeight"
#: What the cell shows where no app answers.
NOT_RUNNING = ("The lab UI is not running here (its kernel stopped, or this notebook was reopened): "
               "run this cell again to open it.")
#: The frame's height until the app says its own, and the smallest it gets.
MIN_HEIGHT = 400

APP_HEAD = """<script>
(() => {
  if (window.parent === window) return;
  let last = 0;
  const post = () => {
    const content = document.querySelector(".contain > *, main > *");
    if (!content) return;
    const footer = document.querySelector("footer");
    const bottom = content.getBoundingClientRect().bottom + window.scrollY + (footer ? footer.offsetHeight : 0) + 48;
    const height = Math.ceil(bottom);
    if (Math.abs(height - last) > 2) {
      last = height;
      window.parent.postMessage({MESSAGE: height}, "*");
    }
  };
  const watch = () => {
    const content = document.querySelector(".contain > *, main > *");
    if (content) new ResizeObserver(post).observe(content);
    else setTimeout(watch, 250);
  };
  window.addEventListener("load", () => { watch(); post(); });
  setInterval(post, 1000);
})();
</script>""".replace("MESSAGE", HEIGHT_MESSAGE)


def frame_html(address, height=None, frame_id=None):
    """The cell's output: the app's frame at ``address`` once it answers, else :data:`NOT_RUNNING`.

    Args:
        address: the app's URL or proxied path (``/user/alice/proxy/7861/``).
        height: a fixed frame height in pixels, or None to follow the app's own height.
        frame_id: the element id (default: a random one, so two outputs never collide).
    """
    frame_id = frame_id or f"cvlab-lab-{secrets.token_hex(4)}"
    settings = json.dumps({"id": frame_id, "address": address, "height": height, "min": MIN_HEIGHT, "message": HEIGHT_MESSAGE})
    return f"""<div id="{frame_id}" class="cvlab-lab" data-address="{html.escape(address)}">
<p class="cvlab-lab-stopped">{html.escape(NOT_RUNNING)}</p>
</div>
<script>
(() => {{
  const s = {settings};
  const root = document.getElementById(s.id);
  if (!root) return;
  const stopped = root.querySelector(".cvlab-lab-stopped");
  stopped.textContent = "Opening the lab UI…";
  fetch(s.address + "config", {{mode: "no-cors", cache: "no-store"}}).then(() => {{
    const frame = document.createElement("iframe");
    frame.src = s.address;
    frame.width = "100%";
    frame.style.border = "0";
    frame.style.height = (s.height || 900) + "px";
    frame.allow = "autoplay; camera; microphone; clipboard-read; clipboard-write;";
    window.addEventListener("message", (event) => {{
      if (s.height || event.source !== frame.contentWindow || !event.data || !event.data[s.message]) return;
      frame.style.height = Math.max(s.min, event.data[s.message]) + "px";
    }});
    stopped.remove();
    root.appendChild(frame);
  }}).catch(() => {{
    stopped.textContent = {json.dumps(NOT_RUNNING)};
  }});
}})();
</script>"""
