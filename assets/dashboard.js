// Dashboard grid: drag a pinned card by its header onto another card to move it there,
// or drop it off the grid to un-pin it. The new order is saved through
// PUT /admin/analytics/dashboard/layout; then the grid re-renders from the server.
(function () {
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

  function save(cards) {
    fetch("/admin/analytics/dashboard/layout", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ cards: cards }),
    }).then(function () {
      if (window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props("dashboard-version", { data: Date.now() });
      }
    });
  }

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
    var moved = Number(dragged.dataset.report);
    var onto = Number(target.dataset.report);
    var cards = currentCards();
    var from = cards.findIndex(function (c) { return c.report_id === moved; });
    var card = cards.splice(from, 1)[0];
    var to = cards.findIndex(function (c) { return c.report_id === onto; });
    cards.splice(from <= to ? to + 1 : to, 0, card);
    save(cards);
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
      var gone = Number(dragged.dataset.report);
      save(currentCards().filter(function (c) { return c.report_id !== gone; }));
    }
    dragged = null;
  });
})();
