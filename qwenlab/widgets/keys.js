// Arrow keys for a qwenlab view: listens on the nearest enclosing `.qwenlab-keys` element (the
// explorer), so a key pressed while anything inside it has focus (a tile just clicked, the viewer)
// reaches the kernel as a message {key}. Keys typed into a text field stay there.
const KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"]);

function render({ model, el }) {
  el.style.display = "none";
  let target = null;
  const onKey = (ev) => {
    if (!KEYS.has(ev.key) || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    ev.preventDefault();
    ev.stopPropagation();
    model.send({ key: ev.key });
  };
  // the explorer's element is our ancestor only once the widget is attached: look for it then
  const attach = () => {
    target = el.closest(".qwenlab-keys");
    if (!target) return requestAnimationFrame(attach);
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1"); // clickable into focus
    target.addEventListener("keydown", onKey);
  };
  attach();
  return () => target && target.removeEventListener("keydown", onKey);
}

export default { render };
