// Builder requests that fail (network error, the server gone, a 4xx/5xx answer) are
// shown, never silent: a failed preview or definition update marks the preview as not up
// to date beside an inline error with Retry; a failed save says the report was not saved
// (the edits stay on the page) and offers Retry. A later success clears the mark.
(function () {
  // A request's output -> what it is about; the definition feeds the preview.
  var KINDS = {"builder-saved-url.data": "save", "builder-preview.children": "preview",
               "builder-definition.data": "definition"};

  function show(kind, why) {
    var set = window.dash_clientside && window.dash_clientside.set_props;
    if (!set || !document.getElementById("hub-builder")) {
      return;
    }
    if (kind === "save") {
      set("builder-save-failure-text", {children:
        "Not saved: " + why + ". Your edits are still here; nothing was saved."});
      set("builder-save-failure", {hidden: false});
    } else {
      set("builder-preview-failure-text", {children:
        "The preview could not be updated: " + why + ". It still shows earlier settings."});
      set("builder-preview-failure", {hidden: false});
      set("builder-preview-frame", {className: "hub-preview-frame hub-preview-stale"});
      set("builder-stale-badge", {hidden: false});
    }
  }

  function clear(kind) {
    var set = window.dash_clientside && window.dash_clientside.set_props;
    if (!set || !document.getElementById("hub-builder")) {
      return;
    }
    if (kind === "save") {
      set("builder-save-failure", {hidden: true});
    } else {
      set("builder-preview-failure", {hidden: true});
      set("builder-preview-frame", {className: "hub-preview-frame"});
      set("builder-stale-badge", {hidden: true});
    }
  }

  function kindOf(options) {
    if (!options || typeof options.body !== "string") {
      return null;
    }
    var output = "";
    try {
      output = JSON.parse(options.body).output || "";
    } catch (error) {
      return null;
    }
    var found = Object.keys(KINDS).filter(function (o) { return output.indexOf(o) !== -1; });
    return found.length ? KINDS[found[0]] : null;
  }

  var fetch = window.fetch;
  window.fetch = function (url, options) {
    var kind = String(url).indexOf("/_dash-update-component") !== -1 ? kindOf(options) : null;
    var answer = fetch.apply(this, arguments);
    if (!kind) {
      return answer;
    }
    return answer.then(function (response) {
      if (response.ok) {
        if (kind !== "definition") {
          clear(kind);
        }
      } else {
        show(kind, "the server answered " + response.status);
      }
      return response;
    }, function (error) {
      show(kind, "the server could not be reached");
      throw error;
    });
  };

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.id === "builder-preview-failure-retry") {
      window.dash_clientside.set_props("builder-retry", {data: Date.now()});
    } else if (target.id === "builder-save-failure-retry") {
      document.getElementById("builder-save").click();
    }
  });
})();
