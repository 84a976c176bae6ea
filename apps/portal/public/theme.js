(() => {
  var choice = null;
  try {
    choice = window.localStorage.getItem("neosc-theme");
  } catch (_) {}
  var dark =
    choice === "dark" ||
    (choice !== "light" && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
})();
