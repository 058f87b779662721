// Article page: bring the highlighted passage into view even when the link had no #hl.
(function () {
  "use strict";
  var mark = document.getElementById("hl");
  if (mark && window.location.hash !== "#hl") {
    mark.scrollIntoView({ block: "center" });
  }
  if (mark) mark.focus({ preventScroll: true });
})();
