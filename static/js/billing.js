// The billing page's meters and daily chart: each bar's length comes from a data attribute,
// because the Content-Security-Policy refuses inline style attributes (setting a style
// property from a script file is allowed).
(function () {
  const percent = (value) => Math.max(0, Math.min(100, Number(value) || 0)) + "%";
  document.querySelectorAll("[data-fill-width]").forEach((bar) => {
    bar.style.width = percent(bar.dataset.fillWidth);
  });
  document.querySelectorAll("[data-fill-height]").forEach((bar) => {
    bar.style.height = percent(bar.dataset.fillHeight);
  });
})();
