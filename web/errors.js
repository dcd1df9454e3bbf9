// Loaded first, as a classic script: every uncaught error, rejected promise and console.error of
// the page (the modules' syntax and load errors included) is listed in #fw-errors, shown to the
// user and read by the browser test (tests/e2e/dashboard_browser_test.py).
(function () {
  "use strict";
  function record(text) {
    var add = function () {
      var list = document.getElementById("fw-errors");
      if (!list) return;
      var li = document.createElement("li");
      li.textContent = String(text);
      list.appendChild(li);
      document.getElementById("errors-banner").classList.remove("hidden");
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", add);
    else add();
  }
  window.addEventListener("error", function (e) {
    var where = e.filename ? " (" + e.filename + ":" + e.lineno + ")" : "";
    record((e.message || (e.target && e.target.src ? "failed to load " + e.target.src : "error")) + where);
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    record("unhandled rejection: " + (e.reason && e.reason.message ? e.reason.message : e.reason));
  });
  var consoleError = console.error;
  console.error = function () {
    record(Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };
})();
