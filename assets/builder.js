// Builder keyboard shortcuts: Ctrl/Cmd+Enter re-runs the preview, Ctrl/Cmd+S saves.
document.addEventListener("keydown", function (event) {
  if (!(event.ctrlKey || event.metaKey)) {
    return;
  }
  var target = null;
  if (event.key === "Enter") {
    target = document.getElementById("builder-run");
  } else if (event.key === "s" || event.key === "S") {
    target = document.getElementById("builder-save");
  }
  if (target) {
    event.preventDefault();
    target.click();
  }
});
