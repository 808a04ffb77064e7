// Progressive enhancement only: every page works without this file.
// - Queue: j / k move between cases, Enter opens the current one.
// - Case page: the view radios swap the photo's overlay; the slider reveals the aligned reference over the claim.
// - Claim form: changing the reason reloads its evidence checklist.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function queue() {
    var list = document.querySelector("[data-keyboard-list]");
    if (!list) return;
    var rows = Array.prototype.slice.call(list.querySelectorAll("tr[data-row]"));
    if (!rows.length) return;
    var index = -1;
    function select(i) {
      if (index >= 0) rows[index].classList.remove("current");
      index = Math.max(0, Math.min(rows.length - 1, i));
      rows[index].classList.add("current");
      var link = rows[index].querySelector("a");
      if (link) link.focus();
    }
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
      if (event.key === "j") { select(index + 1); event.preventDefault(); }
      else if (event.key === "k") { select(index - 1); event.preventDefault(); }
      else if (event.key === "Enter" && index >= 0 && document.activeElement === document.body) {
        var link = rows[index].querySelector("a");
        if (link) link.click();
      }
    });
  }

  function viewers() {
    document.querySelectorAll("[data-viewer]").forEach(function (viewer) {
      var base = viewer.querySelector("img.base");
      viewer.querySelectorAll("input[type=radio][data-src]").forEach(function (radio) {
        radio.addEventListener("change", function () {
          if (!radio.checked || !base) return;
          base.srcset = "";
          base.src = radio.getAttribute("data-src");
          base.setAttribute("data-view", radio.value);
        });
      });
      var slider = viewer.querySelector("input[data-slider]");
      var stage = viewer.querySelector(".stage");
      if (slider && stage) {
        var update = function () {
          stage.style.setProperty("--reveal", slider.value + "%");
          stage.classList.toggle("revealing", Number(slider.value) > 0);
        };
        slider.addEventListener("input", update);
        update();
      }
    });
  }

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { queue(); viewers(); autosubmit(); });
})();
