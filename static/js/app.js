// Forms with data-confirm ask before they submit (deactivations and other consequential steps).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
// The admin's account form shows the county field only for county regulators.
document.addEventListener("DOMContentLoaded", function () {
  var role = document.getElementById("role");
  var county = document.getElementById("county_id");
  if (!role || !county || !role.form || !role.form.hasAttribute("data-county-by-role")) return;
  var box = county.closest(".mb-3");
  function sync() { box.hidden = role.value !== "county_regulator" && !county.value; }
  role.addEventListener("change", sync);
  sync();
});
// Buttons marked data-print print the page (the policy allows no inline onclick).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) {
    window.print();
  }
});
