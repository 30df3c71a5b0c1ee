// Follows a call's progress without reloading the page: every second, fetch the progress
// fragment and swap it in, until the server marks it finished. Without JavaScript the page
// keeps its "Refresh" link, which does the same by hand.
"use strict";
(function () {
  var PERIOD_MS = 1000;

  function current() {
    return document.getElementById("call-progress");
  }

  function poll() {
    var box = current();
    if (!box || box.dataset.finished === "true") {
      return;
    }
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected) {  // signed out meanwhile: show the sign-in page
          window.location.assign(response.url);
          throw new Error("progress: signed out");
        }
        if (!response.ok) {
          throw new Error("progress: HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#call-progress");
        if (fresh) {
          current().replaceWith(fresh);
        }
      })
      .catch(function () { /* a missed poll: the next one tries again */ })
      .finally(function () { window.setTimeout(poll, PERIOD_MS); });
  }

  window.setTimeout(poll, PERIOD_MS);
})();
