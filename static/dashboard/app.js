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
    localTimes(document);
    var box = document.getElementById("filter-box");
    if (box && window.matchMedia("(max-width: 760px)").matches) { box.open = false; }
    var session = document.getElementById("session");
    if (session && window.EventSource) { follow(session); }
  });

  // <time> elements in the reader's zone: "Mar 2, 14:05 · 3 weeks ago"; the exact UTC time
  // stays in the title (server-rendered, so it is there without this script too).
  var RELATIVE = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
                  ["hour", 3600], ["minute", 60]];
  function relative(seconds) {
    if (!window.Intl || !Intl.RelativeTimeFormat) { return ""; }
    var words = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    for (var i = 0; i < RELATIVE.length; i++) {
      if (Math.abs(seconds) >= RELATIVE[i][1]) {
        return words.format(-Math.round(seconds / RELATIVE[i][1]), RELATIVE[i][0]);
      }
    }
    return words.format(0, "minute");
  }
  function localTimes(root) {
    var now = Date.now();
    var thisYear = new Date().getFullYear();
    root.querySelectorAll("time[datetime]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (isNaN(when.getTime())) { return; }
      var options = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
      if (when.getFullYear() !== thisYear) { options.year = "numeric"; }
      var text = when.toLocaleString(undefined, options);
      if (node.getAttribute("data-style") === "relative") {
        var ago = relative((now - when.getTime()) / 1000);
        if (ago) { text = ago; node.setAttribute("data-local", when.toLocaleString(undefined, options)); }
      }
      node.textContent = text;
      node.title = when.toLocaleString(undefined, options) + " local · " + node.title;
    });
  }

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
            localTimes(list);
            last = parseInt(newest, 10);
          }
        });
      }).catch(function () { /* the next update retries */ })
        .then(function () { busy = false; });
    });
  }
}());
