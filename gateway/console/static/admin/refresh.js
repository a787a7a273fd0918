/* Reload the page every few seconds while an element carries data-sceau-refresh
   (the journal verification's progress). No framework; works on old browsers. */
(function () {
  var el = document.querySelector("[data-sceau-refresh]");
  if (!el) { return; }
  var seconds = parseInt(el.getAttribute("data-sceau-refresh"), 10) || 2;
  window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
})();
