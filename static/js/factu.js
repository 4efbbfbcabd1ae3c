// Small progressive enhancements; every page works without them. No template carries inline
// script or on* handlers (the Content-Security-Policy refuses them): behaviour lives here,
// attached to data- attributes.
// A submit button with data-confirm asks before its form is sent.
document.addEventListener("submit", (event) => {
  const question = event.submitter && event.submitter.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// On a phone the header's menu folds behind its "Menú" button; Escape folds it again.
const menuToggle = document.querySelector("[data-menu-toggle]");
if (menuToggle) {
  const menu = document.getElementById(menuToggle.getAttribute("aria-controls"));
  const narrow = window.matchMedia("(max-width: 760px)");
  const open = (yes) => {
    menuToggle.setAttribute("aria-expanded", String(yes));
    menu.classList.toggle("folded", !yes);
  };
  const fit = () => {
    menuToggle.hidden = !narrow.matches;
    open(!narrow.matches);
  };
  menuToggle.addEventListener("click", () => open(menuToggle.getAttribute("aria-expanded") !== "true"));
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && narrow.matches) {
      open(false);
      menuToggle.focus();
    }
  });
  narrow.addEventListener("change", fit);
  fit();
}

// After a failed submit the error summary takes the focus, so it is what is heard first.
const errorSummary = document.querySelector("[data-error-summary]");
if (errorSummary) errorSummary.focus();

// Tables become cards on a phone (factu.css, table.stacks): each cell gets its column's
// heading as data-label. Narrow tables of a few columns (totals, tax boxes, the months of the
// dashboard) and any marked data-no-cards keep their rows (and scroll in their box if need be).
const labelCells = (table) => {
  const headings = [];
  table.querySelectorAll(":scope > thead > tr:first-child > th").forEach((th) => {
    // A heading only screen readers hear (a column of buttons) labels no card line.
    const shown = th.cloneNode(true);
    shown.querySelectorAll(".visually-hidden").forEach((el) => el.remove());
    const text = shown.textContent.trim().replace(/\s+/g, " ");
    for (let i = 0; i < (th.colSpan || 1); i += 1) headings.push(text);
  });
  table.querySelectorAll(":scope > tbody > tr, :scope > tfoot > tr").forEach((row) => {
    let column = 0;
    [...row.children].forEach((cell) => {
      const label = headings[column];
      if (label) cell.dataset.label = label;
      column += cell.colSpan || 1;
    });
  });
};
const stackTables = (root) => {
  root.querySelectorAll("table").forEach((table) => {
    if (!table.tHead || table.matches("[data-no-cards], .totals, .month-table, .stacks")) return;
    if (!table.closest("main")) return;
    table.classList.add("stacks");
    labelCells(table);
    // Rows added later (the invoice form's "Añadir línea", htmx) are labelled too.
    new MutationObserver(() => labelCells(table)).observe(table, { childList: true, subtree: true });
  });
};
stackTables(document);
// Fragments htmx brings in (the dashboard's figures, a polled status) carry tables too.
document.addEventListener("htmx:load", (event) => {
  if (event.detail.elt.querySelectorAll) stackTables(event.detail.elt);
});

// Live regions that stay in the page ([data-live="key"], role=status) say what a fragment
// htmx swapped in summarises ([data-announce="key"]), and only when that changed: the
// fragments themselves are replaced whole, which screen readers do not announce reliably.
const liveText = (key) => {
  const source = document.querySelector(`[data-announce="${key}"]`);
  return source ? source.textContent.trim().replace(/\s+/g, " ") : "";
};
document.querySelectorAll("[data-live]").forEach((region) => {
  region.dataset.last = liveText(region.dataset.live);
});
document.addEventListener("htmx:afterSettle", () => {
  document.querySelectorAll("[data-live]").forEach((region) => {
    const text = liveText(region.dataset.live);
    if (text !== region.dataset.last) {
      region.dataset.last = text;
      region.textContent = text;
    }
  });
});

// A table still wider than its box (between a phone and a laptop) scrolls inside the box; the
// box then takes the keyboard's focus (arrows scroll it) and is named after its section.
const scrollBoxes = () => {
  document.querySelectorAll(".table-scroll").forEach((box) => {
    if (box.scrollWidth > box.clientWidth + 1) {
      if (box.hasAttribute("tabindex")) return;
      const heading = box.closest("section, .card, main")?.querySelector("h1, h2, h3");
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", heading ? heading.textContent.trim().replace(/\s+/g, " ") : document.title);
    } else if (box.getAttribute("tabindex") === "0") {
      ["tabindex", "role", "aria-label"].forEach((name) => box.removeAttribute(name));
    }
  });
};
scrollBoxes();
window.addEventListener("resize", scrollBoxes);
document.addEventListener("htmx:afterSettle", scrollBoxes);
