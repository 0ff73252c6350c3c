// Light or dark: the system's setting until a user picks one with the navbar's toggle
// (#hub-theme-toggle, components/shell.py), which is remembered per user in this
// browser (localStorage "hub-theme:<user id>"). The last choice made here is applied
// as the script loads, before the page is drawn, so a reload does not flash light.
(function () {
  "use strict";
  var MODES = ["system", "light", "dark"];
  var WORDS = {system: "Theme: system", light: "Theme: light", dark: "Theme: dark"};
  var dark = window.matchMedia("(prefers-color-scheme: dark)");
  var current = localStorage.getItem("hub-theme:last") || "system";

  function apply(mode) {
    current = MODES.indexOf(mode) >= 0 ? mode : "system";
    var shown = current === "system" ? (dark.matches ? "dark" : "light") : current;
    document.documentElement.setAttribute("data-bs-theme", shown);
    var toggle = document.getElementById("hub-theme-toggle");
    if (toggle) {
      toggle.textContent = WORDS[current];
      toggle.setAttribute("aria-label", WORDS[current] + " (change)");
    }
  }

  function userKey(toggle) {
    return "hub-theme:" + toggle.getAttribute("data-user");
  }

  apply(current);
  dark.addEventListener("change", function () { apply(current); });
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("#hub-theme-toggle");
    if (!toggle) { return; }
    var next = MODES[(MODES.indexOf(current) + 1) % MODES.length];
    localStorage.setItem(userKey(toggle), next);
    localStorage.setItem("hub-theme:last", next);
    apply(next);
  });
  // The navbar is drawn by Dash after this runs: once a user's toggle is there, that
  // user's own choice applies (another user of this browser may have chosen otherwise).
  var seen = null;
  new MutationObserver(function () {
    var toggle = document.getElementById("hub-theme-toggle");
    if (!toggle || toggle === seen) { return; }
    seen = toggle;
    apply(localStorage.getItem(userKey(toggle)) || "system");
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
