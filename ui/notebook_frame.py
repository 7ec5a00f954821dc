"""The lab UI's frame in a notebook's output: sized to the app, and never left dead in a saved notebook.

Two small scripts:

- :func:`app_head` goes into the app's page (``launch(head=...)``): inside a
  frame, it posts the app's id and the height of the page's content to the
  parent whenever that changes (a tab switched, results arrived).
- :func:`frame_html` is the cell's output: a ``<div>`` whose text says the UI
  is not running (what an untrusted or reopened notebook shows: Jupyter
  runs no script there) and a script that loads the app in a hidden frame
  and shows it only once the page there posts this output's app id, then
  resizes it to the heights the app posts. In a notebook reopened after its
  kernel stopped, nothing answers on the port, or something else does
  (another notebook's app, any server that took the port since): the
  script removes the frame and shows the sentence: no dead or foreign frame.
"""

import html
import json
import secrets

#: Posted by the app's page to its parent: {"cvlabLabHeight": pixels, "cvlabLabId": the app's id}.
HEIGHT_MESSAGE = "cvlabLabHeight"
ID_MESSAGE = "cvlabLabId"
#: What the cell shows where no app answers.
NOT_RUNNING = ("The lab UI is not running here (its kernel stopped, or this notebook was reopened): "
               "run this cell again to open it.")
#: The frame's height until the app says its own, and the smallest it gets.
MIN_HEIGHT = 400
#: How long the hidden frame may take to post its app id before the output says the UI is not running.
IDENTIFY_MS = 30_000

_APP_HEAD = """<script>
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
      window.parent.postMessage({MESSAGE: height, ID_KEY: APP_ID}, "*");
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
</script>"""


def new_app_id():
    """A random id for one served app: its page posts it, and only the outputs made for that app show it."""
    return secrets.token_hex(8)


def app_head(app_id):
    """The script for the app's ``<head>``: inside a frame, posts ``app_id`` and the content's height to the parent."""
    return (_APP_HEAD.replace("ID_KEY", ID_MESSAGE).replace("MESSAGE", HEIGHT_MESSAGE)
            .replace("APP_ID", json.dumps(app_id)))


def frame_html(address, app_id, height=None, frame_id=None):
    """The cell's output: the frame of the app ``app_id`` at ``address`` once it answers, else :data:`NOT_RUNNING`.

    Args:
        address: the app's URL or proxied path (``/user/alice/proxy/7861/``).
        app_id: the id the app's page posts (:func:`app_head`); a page posting
            another id, or none within :data:`IDENTIFY_MS`, is not shown.
        height: a fixed frame height in pixels, or None to follow the app's own height.
        frame_id: the element id (default: a random one, so two outputs never collide).
    """
    frame_id = frame_id or f"cvlab-lab-{secrets.token_hex(4)}"
    settings = json.dumps({"id": frame_id, "address": address, "app": app_id, "height": height, "min": MIN_HEIGHT,
                           "message": HEIGHT_MESSAGE, "idKey": ID_MESSAGE, "wait": IDENTIFY_MS})
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
  const notRunning = () => {{ stopped.textContent = {json.dumps(NOT_RUNNING)}; }};
  fetch(s.address + "config", {{mode: "no-cors", cache: "no-store"}}).then(() => {{
    // something answers on the port: show it only once its page posts this output's app id
    const frame = document.createElement("iframe");
    frame.src = s.address;
    frame.width = "100%";
    frame.style.border = "0";
    frame.style.height = "0";
    frame.style.visibility = "hidden";
    frame.allow = "autoplay; camera; microphone; clipboard-read; clipboard-write;";
    let shown = false;
    const giveUp = setTimeout(() => {{ if (!shown) {{ frame.remove(); notRunning(); }} }}, s.wait);
    window.addEventListener("message", (event) => {{
      if (event.source !== frame.contentWindow || !event.data || !event.data[s.message]) return;
      if (event.data[s.idKey] !== s.app) {{ clearTimeout(giveUp); frame.remove(); notRunning(); return; }}
      if (!shown) {{
        shown = true;
        clearTimeout(giveUp);
        stopped.remove();
        frame.style.visibility = "";
        frame.style.height = (s.height || 900) + "px";
      }}
      if (!s.height) frame.style.height = Math.max(s.min, event.data[s.message]) + "px";
    }});
    root.appendChild(frame);
  }}).catch(notRunning);
}})();
</script>"""
