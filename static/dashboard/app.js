// Theme toggle and live updates. No inline script on any page: the CSP forbids it.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = window.localStorage.getItem("agentsview-theme"); } catch (e) { /* private mode */ }
  if (saved === "dark" || saved === "light") { root.setAttribute("data-theme", saved); }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("theme-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var dark = root.getAttribute("data-theme") === "dark" ||
          (root.getAttribute("data-theme") === "auto" &&
           window.matchMedia("(prefers-color-scheme: dark)").matches);
        var next = dark ? "light" : "dark";
        root.setAttribute("data-theme", next);
        try { window.localStorage.setItem("agentsview-theme", next); } catch (e) { /* ignore */ }
      });
    }
    var session = document.getElementById("session");
    if (session && window.EventSource) { follow(session); }
  });

  // Append new messages when the session changes (a sync or a push rewrote it).
  function follow(session) {
    if (session.getAttribute("data-at-end") !== "true") { return; }
    var list = document.getElementById("messages");
    var live = document.getElementById("live");
    var last = parseInt(session.getAttribute("data-last-ordinal"), 10);
    var source = new EventSource(session.getAttribute("data-watch-url"));
    var busy = false;
    if (live) { live.hidden = false; }
    source.addEventListener("session_updated", function () {
      if (busy) { return; }
      busy = true;
      var url = session.getAttribute("data-more-url") + "?from=" + (last + 1);
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        var newest = response.headers.get("X-Last-Ordinal");
        return response.text().then(function (html) {
          if (newest) {
            list.insertAdjacentHTML("beforeend", html);
            last = parseInt(newest, 10);
          }
        });
      }).catch(function () { /* the next update retries */ })
        .then(function () { busy = false; });
    });
  }
}());
