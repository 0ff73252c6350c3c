// Dashboard grid, for managers: drag a pinned card by its header onto another card to move
// it there, drop it off the grid to un-pin it, or choose its width; or use the card's
// arrows (move one place) and its Unpin button, which do the same. Each change is saved
// through PUT /admin/analytics/dashboard/layout, then the grid re-renders from the server.
// A save that fails (no answer, or an error) changes nothing on screen: the card stays in
// its place and width, and an inline error offers Retry. An un-pin offers Undo, which
// pins the card again in its place and width (POST /admin/analytics/dashboard/restore).
(function () {
  var LAYOUT = "/admin/analytics/dashboard/layout";
  var RESTORE = "/admin/analytics/dashboard/restore";
  var STATUS = "dashboard-arrange-status";
  var dragged = null;
  var droppedOnCard = false;

  function cardOf(element) {
    return element && element.closest ? element.closest(".hub-pin-card[data-report]") : null;
  }

  function currentCards() {
    return Array.prototype.map.call(
      document.querySelectorAll("#dashboard-cards .hub-pin-card[data-report]"),
      function (card) {
        return { report_id: Number(card.dataset.report), span: Number(card.dataset.span) };
      }
    );
  }

  function nameOf(card) {
    var link = card.querySelector(".card-header a");
    return link ? link.textContent : "The report";
  }

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(id, props);
    }
  }

  // One line above the grid: an error (with Retry) or a notice (with Undo), or nothing.
  function showStatus(isError, text, actionLabel, action) {
    var box = document.getElementById(STATUS);
    if (!box) {
      return;
    }
    box.replaceChildren();
    if (!text) {
      return;
    }
    var alert = document.createElement("div");
    alert.className = "alert py-2 small d-flex align-items-center gap-2 mb-2 " +
      (isError ? "alert-danger" : "alert-secondary");
    alert.setAttribute("role", isError ? "alert" : "status");
    var message = document.createElement("span");
    message.textContent = text;
    alert.appendChild(message);
    if (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.id = STATUS + "-action";
      button.className = "btn btn-sm ms-auto " + (isError ? "btn-danger" : "btn-outline-secondary");
      button.textContent = actionLabel;
      button.addEventListener("click", action);
      alert.appendChild(button);
    }
    box.appendChild(alert);
  }

  function failure(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      throw new Error(body.error || "the hub answered " + response.status);
    });
  }

  // Sends the grid; on success re-renders it and calls saved(), on failure calls undo()
  // (put the card back) and offers Retry of the same request.
  function save(url, method, cards, what, saved, undo) {
    showStatus(false, "");
    fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ cards: cards }),
    }).then(function (response) {
      if (!response.ok) {
        return failure(response);
      }
      setProps("dashboard-version", { data: Date.now() });
      saved();
    }).catch(function (error) {
      undo();
      var reason = error instanceof TypeError ? "the hub did not answer" : error.message;
      showStatus(true, "Could not save " + what + ": " + reason + ". Nothing changed.",
        "Retry", function () { save(url, method, cards, what, saved, undo); });
    });
  }

  function nothing() {}

  function unpin(card) {
    var before = currentCards();
    var gone = Number(card.dataset.report);
    var name = nameOf(card);
    save(LAYOUT, "PUT", before.filter(function (c) { return c.report_id !== gone; }),
      "the un-pin of “" + name + "”", function () {
        showStatus(false, "“" + name + "” was un-pinned from everyone's dashboard.", "Undo",
          function () {
            save(RESTORE, "POST", before, "“" + name + "” back", function () {
              showStatus(false, "“" + name + "” is back on the dashboard.");
            }, nothing);
          });
      }, nothing);
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    var card = cardOf(select);
    if (!card || !select.matches("select.hub-span-select")) {
      return;
    }
    var moved = Number(card.dataset.report);
    var old = card.dataset.span;
    var cards = currentCards().map(function (c) {
      return c.report_id === moved ? { report_id: moved, span: Number(select.value) } : c;
    });
    save(LAYOUT, "PUT", cards, "the new width", nothing, function () {
      setProps({ type: "pin-card-span", report: moved }, { value: old });
    });
  });

  function moved(cards, at, to) {
    var card = cards.splice(at, 1)[0];
    cards.splice(to, 0, card);
    return cards;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-arrange]") : null;
    var card = cardOf(button);
    if (!card || button.disabled) {
      return;
    }
    if (button.dataset.arrange === "remove") {
      unpin(card);
      return;
    }
    var cards = currentCards();
    var at = cards.findIndex(function (c) { return c.report_id === Number(card.dataset.report); });
    var to = button.dataset.arrange === "left" ? at - 1 : at + 1;
    if (to >= 0 && to < cards.length) {
      save(LAYOUT, "PUT", moved(cards, at, to), "the new order", nothing, nothing);
    }
  });

  document.addEventListener("dragstart", function (event) {
    var card = cardOf(event.target);
    if (!card) {
      return;
    }
    dragged = card;
    droppedOnCard = false;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.report);
    card.classList.add("hub-dragging");
  });

  document.addEventListener("dragover", function (event) {
    var target = cardOf(event.target);
    if (dragged && target && target !== dragged) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
    }
  });

  document.addEventListener("drop", function (event) {
    var target = cardOf(event.target);
    if (!dragged || !target || target === dragged) {
      return;
    }
    event.preventDefault();
    droppedOnCard = true;
    var cards = currentCards();
    var from = cards.findIndex(function (c) { return c.report_id === Number(dragged.dataset.report); });
    var to = cards.findIndex(function (c) { return c.report_id === Number(target.dataset.report); });
    // The grid moves only once the server has the new order, so a failed save leaves
    // every card where it was.
    save(LAYOUT, "PUT", moved(cards, from, to), "the new order", nothing, nothing);
  });

  document.addEventListener("dragend", function (event) {
    if (!dragged) {
      return;
    }
    dragged.classList.remove("hub-dragging");
    var grid = document.getElementById("dashboard-cards");
    var box = grid ? grid.getBoundingClientRect() : null;
    var outside = box && (event.clientX < box.left || event.clientX > box.right ||
                          event.clientY < box.top || event.clientY > box.bottom);
    if (!droppedOnCard && outside) {
      unpin(dragged);
    }
    dragged = null;
  });
})();
