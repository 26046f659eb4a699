"""Keyboard shortcuts for a widget: keys pressed while the focus is inside it reach Python.

    keys = KeyShortcuts({"ArrowLeft": "left", "1": "left", "u": "undo"}, scope="qwenlab-judging",
                        legend=[("← or 1", "left is better"), ("u", "undo")])
    keys.on_action(lambda action: print(action))
    box = ipywidgets.VBox([keys.widget, ...]); box.add_class("qwenlab-judging")

The shortcut widget is a small anywidget (works in JupyterLab, Notebook 7, VS Code and Voilà). In
the browser it finds the enclosing element of CSS class `scope`, makes it focusable, focuses it
when the user clicks inside it (anywhere but on a text field), and listens there: so the keys
work while the focus is anywhere inside that widget (its buttons included) and nowhere else, and
typing in another cell never judges anything. It draws the legend, and says whether the keys are
live. Keys with Ctrl, Alt or Meta held, held-down repeats and typing in a text field are left
to the browser (the keys are off while a text field has the focus, and the legend says so; Enter
in a one-line field, once the field has it, gives the keys back); a named key (an arrow, Backspace) with Shift held is "Shift+ArrowLeft", a key of
its own, never the plain one (Shift with an arrow grows a text selection and pans the compare
viewer: it must not judge). A key that is mapped does nothing else (an arrow does not scroll the
page).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

from .require import require_anywidget

__all__ = ["KeyShortcuts"]

_ESM = r"""
function render({ model, el }) {
  el.classList.add("qwl-keys");
  const legend = document.createElement("span");
  legend.className = "qwl-keys-legend";
  const state = document.createElement("span");
  state.className = "qwl-keys-state";
  el.append(state, legend);
  const drawLegend = () => {
    legend.replaceChildren(...(model.get("legend") || []).map(([keys, what]) => {
      const item = document.createElement("span");
      item.className = "qwl-key";
      const k = document.createElement("kbd");
      k.textContent = keys;
      item.append(k, " " + what);
      return item;
    }));
  };
  drawLegend();
  model.on("change:legend", drawLegend);

  let scope = null;
  const typing = (t) => t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
  // typing in a text field inside the widget (the explorer's note), its keys are the field's: the
  // legend said "keys on:" there, and the 4 meant as a rating went into the note
  const live = () => !!scope && scope.contains(document.activeElement) && !typing(document.activeElement);
  const update = () => {
    el.classList.toggle("qwl-keys-live", live());
    state.textContent = live() ? "keys on:" : (model.get("hint") || "click here to use the keys:");
  };
  model.on("change:hint", () => update());
  update();  // from the first paint: attach() may come only once the element is in the page
  // `follow` ([target, box, heading, side] selectors): the element a key moves to (the selected
  // tile) is scrolled into view inside its box (the explorer's grid), clear of the box's sticky
  // headings along the top (`heading`) and the left (`side`); only that box scrolls, never the
  // page, where the viewer above has its own place
  let following = 0;
  const edge = (box, sel, side) => (sel ? [...box.querySelectorAll(sel)] : []).map((h) => h.getBoundingClientRect()[side]);
  const bringIntoBox = (target) => {
    const [, boxSel, headSel, sideSel] = model.get("follow") || [];
    const box = target.closest(boxSel);
    if (!box) return;
    const b = box.getBoundingClientRect(), r = target.getBoundingClientRect();
    const top = Math.max(b.top, ...edge(box, headSel, "bottom"));
    const bottom = b.top + box.clientHeight;
    if (r.top < top) box.scrollTop -= top - r.top;
    else if (r.bottom > bottom) box.scrollTop += Math.min(r.bottom - bottom, r.top - top);
    const left = Math.max(b.left, ...edge(box, sideSel, "right"));
    const right = b.left + box.clientWidth;
    if (r.left < left) box.scrollLeft -= left - r.left;
    else if (r.right > right) box.scrollLeft += Math.min(r.right - right, r.left - left);
  };
  const onEnter = (e) => {
    // Enter in a one-line field (the note: "Enter saves") gives the keys back once the field has
    // had its Enter (its value sent): the focus stayed in it, and the digit pressed next to rate
    // the image was typed into the note instead. Not when Enter ends an IME composition. Heard as
    // the event goes down to the field: ipywidgets' text fields stop it from coming back up
    if (e.key !== "Enter" || e.target.tagName !== "INPUT" || e.isComposing || e.keyCode === 229) return;
    const field = e.target;
    setTimeout(() => { if (document.activeElement === field && scope) { scope.focus({ preventScroll: true }); update(); } }, 0);
  };
  const onKey = (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || e.repeat || typing(e.target)) return;
    // Shift with a named key (an arrow, Backspace, PageDown) is a shortcut of its own, "Shift+ArrowLeft",
    // or none: it grows a text selection, and Shift with an arrow pans the compare viewer, so in
    // judging, pressed with the focus on the pair or a button instead, it cast a verdict. Shift
    // with a character is only how that character is typed ("T")
    const key = e.key.length === 1 ? e.key.toLowerCase() : (e.shiftKey ? "Shift+" : "") + e.key;
    const action = (model.get("shortcuts") || {})[key];
    if (!action) return;
    e.preventDefault();
    e.stopPropagation();
    following = Date.now();
    model.send({ action });
  };
  const onPointer = (e) => {
    // a click on the images (which take no focus) gives the focus to the widget; a button keeps its own
    if (!typing(e.target) && !(e.target.closest && e.target.closest("button"))) scope.focus({ preventScroll: true });
  };
  const onFocusOut = () => setTimeout(update, 0);
  // the element that had the focus inside the widget: when the widget redraws it away (a tile's
  // button when the page turns), the focus fell to the page and every later key scrolled it;
  // it goes back to the widget instead
  let focused = null;
  const onFocusIn = (e) => { focused = e.target; update(); };
  const regain = new MutationObserver((records) => {
    const [targetSel] = model.get("follow") || [];
    if (targetSel && following && Date.now() - following < 3000) {
      // the element that has just become the target (its class set by the kernel after the key)
      const moved = records.find((r) => r.type === "attributes" && r.target.matches && r.target.matches(targetSel));
      if (moved) { following = 0; bringIntoBox(moved.target); }
    }
    if (focused && !focused.isConnected && scope && scope.isConnected
        && (!document.activeElement || document.activeElement === document.body)) {
      focused = scope;
      scope.focus({ preventScroll: true });
      update();
    }
  });
  const attach = () => {
    scope = el.closest("." + model.get("scope")) || el.parentElement || el;
    if (!scope.hasAttribute("tabindex")) scope.setAttribute("tabindex", "0");
    scope.addEventListener("keydown", onKey);
    scope.addEventListener("keydown", onEnter, true);
    scope.addEventListener("pointerdown", onPointer);
    scope.addEventListener("focusin", onFocusIn);
    scope.addEventListener("focusout", onFocusOut);
    regain.observe(scope, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
    update();
  };
  // render() may run before the element is in the page: wait for it (bounded)
  let tries = 0, timer = null;
  const wait = () => {
    if ((el.isConnected && el.closest("." + model.get("scope"))) || tries++ > 200) attach();
    else timer = setTimeout(wait, 50);
  };
  wait();
  return () => {
    clearTimeout(timer);
    if (!scope) return;
    scope.removeEventListener("keydown", onKey);
    scope.removeEventListener("keydown", onEnter, true);
    scope.removeEventListener("pointerdown", onPointer);
    scope.removeEventListener("focusin", onFocusIn);
    scope.removeEventListener("focusout", onFocusOut);
    regain.disconnect();
  };
}
export default { render };
"""

_CSS = """
.qwl-keys { font-size: 13px; color: #555; display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: center;
  margin: 4px 0; }
.qwl-keys-legend { display: flex; flex-wrap: wrap; gap: 4px 16px; }
.qwl-keys-state { font-weight: 600; }
.qwl-keys-live .qwl-keys-state { color: #1a7f37; }
.qwl-keys kbd { border: 1px solid #bbb; border-bottom-width: 2px; border-radius: 3px; padding: 0 4px;
  background: #f6f6f6; font-family: inherit; font-size: 11px; }
"""


@functools.cache
def _widget_class() -> type:
    """The anywidget class, made on first use (anywidget is imported only by widgets that need it)."""
    anywidget, traitlets = require_anywidget("keyboard shortcuts")

    class KeyShortcutsWidget(anywidget.AnyWidget):  # type: ignore[misc]
        _esm = _ESM
        _css = _CSS
        shortcuts = traitlets.Dict().tag(sync=True)  # not `keys`: a Widget's `keys` lists its synced traits
        legend = traitlets.List().tag(sync=True)
        scope = traitlets.Unicode("").tag(sync=True)
        hint = traitlets.Unicode("").tag(sync=True)  # said while the keys are off: what to click
        follow = traitlets.List().tag(sync=True)  # [target, box, heading, side] CSS selectors (KeyShortcuts)

    return KeyShortcutsWidget


class KeyShortcuts:
    """Keys -> action names for the widget whose CSS class is `scope` (see the module docstring).

    keys: {key: action}; a key as the browser names it (`event.key`): "ArrowLeft", "Backspace",
    "Shift+ArrowLeft" (with Shift held: a key of its own), or one character, matched
    case-insensitively (Shift with it is how it is typed). legend: (keys, what they do) pairs to show.
    hint: what the legend says while the keys are off ("click the pair to use the keys:").
    follow: (target, box, heading, side) CSS selectors: after a key, the element that comes to
    match `target` (the tile it selected) is scrolled into view inside its enclosing `box`, below
    the box's `heading` elements and right of its `side` ones (sticky headings; "" for none)."""

    def __init__(self, keys: Mapping[str, str], *, scope: str, legend: Sequence[tuple[str, str]] = (),
                 hint: str = "click here to use the keys:", follow: tuple[str, str, str, str] | None = None) -> None:
        self.keys = {(k.lower() if len(k) == 1 else k): v for k, v in keys.items()}
        self.widget = _widget_class()(shortcuts=self.keys, legend=[list(x) for x in legend], scope=scope, hint=hint,
                                      follow=list(follow or ()))
        self._handlers: list[Callable[[str], Any]] = []
        self.widget.on_msg(self._on_msg)

    def on_action(self, handler: Callable[[str], Any]) -> None:
        """Call `handler(action)` for every mapped key pressed in the browser."""
        self._handlers.append(handler)

    def press(self, key: str) -> None:
        """Act as if `key` were pressed in the browser (what a test or a script can call)."""
        action = self.keys.get(key.lower() if len(key) == 1 else key)
        if action is not None:
            self._dispatch(action)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("action") in self.keys.values():
            self._dispatch(str(content["action"]))

    def _dispatch(self, action: str) -> None:
        for handler in self._handlers:
            handler(action)
