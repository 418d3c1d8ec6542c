// Import file picker: reads the chosen JSON or CSV file into the rows
// field. Without this script the rows are pasted by hand.
document.addEventListener("DOMContentLoaded", function () {
  var picker = document.getElementById("import-file");
  var rows = document.getElementById("import-rows");
  if (!picker || !rows || !window.FileReader) return;
  picker.closest("div").hidden = false;
  picker.addEventListener("change", function () {
    var f = picker.files && picker.files[0];
    if (!f) return;
    var rd = new FileReader();
    rd.onload = function () { rows.value = rd.result; rows.focus(); };
    rd.readAsText(f);
  });
});
