// The invoice draft and rectification forms: "Añadir línea" clones the formset's empty form,
// a ticked "Quitar" greys its row, and the third-party fields show only when they apply.
// The client box and each line's concept are type-aheads (ARIA 1.2 comboboxes): the client
// over the taxpayer's clients, the concept over the account's catalogue (picking an item
// fills the line's concept, price and tax, and the invoice's IRPF when the item has one);
// "Nuevo cliente" creates a client in a dialog without leaving the form.
// Loaded as a file (the Content-Security-Policy allows no inline script); without
// JavaScript the form still posts and validates on the server (the client typed is resolved
// there).
document.querySelectorAll("[data-lines]").forEach((body) => {
  const form = body.closest("form");
  const total = form.querySelector('input[name$="-TOTAL_FORMS"]');
  const template = form.querySelector("#line-template");
  form.querySelector("[data-add-line]").addEventListener("click", () => {
    const index = Number(total.value);
    body.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, index));
    total.value = index + 1;
    body.lastElementChild.querySelector("input")?.focus();
  });
  form.addEventListener("change", (event) => {
    if (event.target.matches('input[name$="-DELETE"]')) {
      event.target.closest("tr").classList.toggle("removed", event.target.checked);
    }
  });
  form.querySelectorAll('input[name$="-DELETE"]:checked').forEach((box) => box.closest("tr").classList.add("removed"));
});

const issuedBy = document.getElementById("id_issued_by");
if (issuedBy) {
  const show = () => document.querySelectorAll("[data-third-party]").forEach((el) => {
    el.hidden = issuedBy.value !== "third_party";
  });
  issuedBy.addEventListener("change", show);
  show();
}

// -- type-ahead -------------------------------------------------------------------------

// One polite live region per page, present from the start: screen readers hear how many
// suggestions there are and what a pick changed, without focus moving.
const announcer = document.querySelector("[data-combo-status]");
function announce(text) {
  if (!announcer) return;
  announcer.textContent = "";
  window.setTimeout(() => { announcer.textContent = text; }, 50);
}

let comboCount = 0;

// Turns a text input into a combobox listing what `source` (a URL answering
// {"results": [...]}) returns for the text typed. `describe(result)` gives an option's
// [main text, detail]; `pick(result)` applies the choice; `onType()` runs when the text is
// edited by hand; `nothing(q)` is what to announce when no result matches ("" for silence).
function combobox(input, { source, describe, pick, onType = () => {}, nothing = () => "" }) {
  if (input.dataset.comboReady) return;
  input.dataset.comboReady = "1";
  const listId = `${input.id || "combo-" + ++comboCount}-listbox`;
  const list = document.createElement("ul");
  list.id = listId;
  list.className = "combo-list";
  list.setAttribute("role", "listbox");
  const label = input.labels && input.labels[0] ? input.labels[0].textContent.trim() : input.getAttribute("aria-label");
  if (label) list.setAttribute("aria-label", `Sugerencias: ${label}`);
  list.hidden = true;
  input.insertAdjacentElement("afterend", list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listId);
  input.setAttribute("autocomplete", "off");

  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;

  const place = () => {
    const box = input.getBoundingClientRect();
    list.style.left = `${Math.max(4, box.left)}px`;
    list.style.top = `${box.bottom + 2}px`;
    list.style.minWidth = `${Math.min(box.width, window.innerWidth - 8)}px`;
    list.style.maxWidth = `${window.innerWidth - Math.max(4, box.left) - 4}px`;
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    const options = list.querySelectorAll("[role=option]");
    options.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };
  const choose = (index) => {
    const result = results[index];
    if (!result) return;
    close();
    pick(result);
  };
  const show = (q) => {
    list.replaceChildren();
    results.forEach((result, i) => {
      const [main, detail] = describe(result);
      const option = document.createElement("li");
      option.id = `${listId}-${i}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.textContent = main;
      if (detail) {
        const small = document.createElement("span");
        small.className = "combo-detail";
        small.textContent = ` · ${detail}`;
        option.append(small);
      }
      option.addEventListener("mousedown", (event) => event.preventDefault());
      option.addEventListener("click", () => choose(i));
      list.append(option);
    });
    if (!results.length) {
      close();
      const text = nothing(q);
      if (text) announce(text);
      return;
    }
    place();
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
    const n = results.length;
    announce(n === 1 ? "1 sugerencia. Flechas para recorrerla, Intro para elegirla." : `${n} sugerencias. Flechas para recorrerlas, Intro para elegir.`);
  };
  const search = async (q) => {
    controller?.abort();
    controller = new AbortController();
    try {
      const response = await fetch(`${source}${source.includes("?") ? "&" : "?"}q=${encodeURIComponent(q)}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!response.ok) return;
      results = (await response.json()).results || [];
      if (document.activeElement === input && input.value.trim() === q) show(q);
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  };

  input.addEventListener("input", () => {
    onType();
    window.clearTimeout(timer);
    const q = input.value.trim();
    if (!q) { results = []; close(); return; }
    timer = window.setTimeout(() => search(q), 200);
  });
  input.addEventListener("keydown", (event) => {
    const open = !list.hidden;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open && results.length) { show(input.value.trim()); highlight(0); return; }
      if (open) highlight((active + 1) % results.length);
    } else if (event.key === "ArrowUp") {
      if (!open) return;
      event.preventDefault();
      highlight(active <= 0 ? results.length - 1 : active - 1);
    } else if (event.key === "Enter") {
      if (open && active >= 0) { event.preventDefault(); choose(active); }
    } else if (event.key === "Escape") {
      if (open) { event.preventDefault(); close(); }
    } else if (event.key === "Tab") {
      close();
    }
  });
  input.addEventListener("blur", () => window.setTimeout(close, 150));
  window.addEventListener("resize", () => { if (!list.hidden) place(); });
  window.addEventListener("scroll", () => { if (!list.hidden) place(); }, true);
}

// Tell the form (htmx's live totals) that a value changed under it.
function changed(element) {
  element.dispatchEvent(new Event("input", { bubbles: true }));
  element.dispatchEvent(new Event("change", { bubbles: true }));
}

// -- the client -------------------------------------------------------------------------

const clientBox = document.querySelector("[data-client-search]");
const clientValue = document.querySelector("[data-client-value]");
function chooseClient(client, message) {
  clientValue.value = client.id;
  clientBox.value = client.label;
  changed(clientValue);
  announce(message || `Cliente elegido: ${client.label}.`);
}
if (clientBox && clientValue) {
  combobox(clientBox, {
    source: clientBox.closest("[data-client-source]").dataset.clientSource,
    describe: (client) => [client.name, client.label.slice(client.name.length).replace(/^ \(|\)$/g, "")],
    pick: (client) => chooseClient(client),
    onType: () => { clientValue.value = ""; },
    nothing: (q) => `Ningún cliente coincide con «${q}». Puede crearlo con «Nuevo cliente».`,
  });
}

const dialog = document.getElementById("new-client-dialog");
const opener = document.querySelector("[data-new-client]");
if (dialog && opener && clientBox) {
  const form = dialog.querySelector("form");
  const summary = dialog.querySelector("[data-dialog-errors]");
  opener.hidden = false;
  const clearErrors = () => {
    form.querySelectorAll(".error[data-dialog-error]").forEach((el) => el.remove());
    form.querySelectorAll("[aria-invalid]").forEach((field) => {
      field.removeAttribute("aria-invalid");
      const ids = (field.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.endsWith("-error"));
      if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
      else field.removeAttribute("aria-describedby");
    });
    summary.hidden = true;
    summary.replaceChildren();
  };
  opener.addEventListener("click", () => {
    form.reset();
    clearErrors();
    dialog.returnValue = "";
    const name = form.querySelector('[name$="-name"]');
    if (!clientValue.value && clientBox.value.trim()) name.value = clientBox.value.trim();
    dialog.showModal();
    name.focus();
  });
  dialog.querySelectorAll("[data-close]").forEach((button) => button.addEventListener("click", () => dialog.close()));
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "created") opener.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({}));
      if (response.status === 201) {
        dialog.close("created");
        chooseClient(data, `Cliente ${data.label} creado y elegido en la factura.`);
        clientBox.focus();
        return;
      }
      const errors = data.errors || { __all__: ["No se ha podido crear el cliente. Vuelva a probar."] };
      let first = null;
      Object.entries(errors).forEach(([name, messages]) => {
        const field = name === "__all__" ? null : form.querySelector(`[name="${CSS.escape(name)}"]`);
        if (!field) {
          messages.forEach((text) => { const p = document.createElement("p"); p.textContent = text; summary.append(p); });
          summary.hidden = false;
          return;
        }
        const error = document.createElement("div");
        error.className = "error";
        error.dataset.dialogError = "1";
        error.id = `${field.id}-error`;
        error.textContent = messages.join(" ");
        field.closest(".field").append(error);
        field.setAttribute("aria-invalid", "true");
        const ids = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        field.setAttribute("aria-describedby", [...ids, error.id].join(" "));
        first = first || field;
      });
      (first || summary).focus();
    } finally {
      submit.disabled = false;
    }
  });
}

// -- the catalogue on each line's concept -----------------------------------------------

const lines = document.querySelector("[data-lines][data-catalogue-source]");
if (lines) {
  const source = lines.dataset.catalogueSource;
  const irpf = document.getElementById("id_irpf_rate");
  const enhance = (input) => combobox(input, {
    source,
    describe: (item) => [item.name, `${item.unitPrice} € · ${item.ivaLabel}`],
    pick: (item) => {
      const row = input.closest("tr");
      const field = (suffix) => row.querySelector(`[name$="-${suffix}"]`);
      input.value = item.description;
      field("unit_price").value = item.unitPrice;
      const tax = field("iva_type");
      tax.value = item.ivaType;
      [input, field("unit_price"), tax].forEach(changed);
      let extra = "";
      if (irpf && item.irpf !== null) {
        irpf.value = item.irpf;
        changed(irpf);
        extra = ` Retención IRPF de la factura: ${item.irpf} %.`;
      }
      announce(`Línea rellenada con ${item.name}: ${item.unitPrice} €, ${item.ivaLabel}.${extra}`);
    },
  });
  const enhanceAll = () => lines.querySelectorAll('input[name$="-description"]').forEach(enhance);
  enhanceAll();
  new MutationObserver(enhanceAll).observe(lines, { childList: true });
}
