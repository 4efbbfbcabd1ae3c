// The desk's "select all" box; without JavaScript it stays hidden and each box still works.
document.querySelectorAll("input[data-select-all]").forEach((all) => {
  const boxes = () => document.querySelectorAll(`input[type=checkbox][form="${all.dataset.selectAll}"]`);
  const sync = () => {
    const list = [...boxes()];
    const ticked = list.filter((box) => box.checked).length;
    all.checked = list.length > 0 && ticked === list.length;
    all.indeterminate = ticked > 0 && ticked < list.length;
  };
  all.hidden = false;
  all.addEventListener("change", () => {
    boxes().forEach((box) => { box.checked = all.checked; });
    sync();
  });
  boxes().forEach((box) => box.addEventListener("change", sync));
  sync();
});
