/* EV Metastasis Living Review: draw charts and explorer tables from inert JSON on the page.
   Uses the vendored vega-embed (no CDN). Data values are only ever inserted as text. */
(function () {
  "use strict";

  function drawChart(node) {
    var target = document.getElementById(node.dataset.target);
    if (!target || target.dataset.drawn) return;
    target.dataset.drawn = "1";
    function fail(err) {
      target.textContent = "This chart could not be drawn (" + (err && err.message || err) + "); its static copy is linked below.";
      target.className += " lr-chart-failed";
      console.warn("livingreview: chart " + node.dataset.target + ": " + (err && err.message || err));
    }
    try {
      var spec = JSON.parse(node.textContent);
      if (typeof window.vegaEmbed !== "function") throw new Error("chart library not loaded");
      window.vegaEmbed(target, spec, { actions: { export: true, source: false, compiled: false, editor: false },
                                       renderer: "svg" }).catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  function drawCharts() {
    // each chart on its own: one bad spec never stops the others or the explorer
    document.querySelectorAll("script.lr-chart-spec").forEach(drawChart);
  }

  function cell(tag, text) {
    var el = document.createElement(tag);
    el.textContent = text == null ? "" : String(text);
    return el;
  }

  function linkList(text) {
    var span = document.createElement("span");
    String(text || "").split("; ").filter(Boolean).forEach(function (url, i) {
      if (!/^https:\/\/(doi\.org|pubmed\.ncbi\.nlm\.nih\.gov)\//.test(url)) return;
      if (i) span.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = url; a.textContent = "[" + (i + 1) + "]"; a.rel = "noopener";
      span.appendChild(a);
    });
    return span;
  }

  function loadExplorer(target) {
    if (target.dataset.drawn) return;
    target.dataset.drawn = "1";
    fetch(target.dataset.src)
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) { target.textContent = ""; drawExplorer(target, data); })
      .catch(function (err) { target.textContent = "Could not load the table: " + err.message; console.error(err); });
  }

  function drawExplorer(target, data) {
    var cols = data.columns, rows = data.rows, size = parseInt(target.dataset.pageSize, 10) || 25, page = 0;
    var linkCol = cols.indexOf("links"), tableCol = cols.indexOf("table"), levelCol = cols.indexOf("level");

    var bar = document.createElement("div"); bar.className = "lr-explorer-bar";
    var search = document.createElement("input");
    search.type = "search"; search.placeholder = "Search all rows…"; search.setAttribute("aria-label", "Search");
    bar.appendChild(search);
    function select(col, label) {
      var s = document.createElement("select"); s.setAttribute("aria-label", label);
      s.appendChild(new Option("All " + label, ""));
      Array.from(new Set(rows.map(function (r) { return r[col]; }))).sort().forEach(function (v) {
        s.appendChild(new Option(v, v));
      });
      bar.appendChild(s); return s;
    }
    var tableSel = tableCol >= 0 ? select(tableCol, "tables") : null;
    var levelSel = levelCol >= 0 ? select(levelCol, "evidence levels") : null;
    var info = cell("span", ""); info.className = "lr-explorer-info"; bar.appendChild(info);
    var prev = cell("button", "‹ Previous"), next = cell("button", "Next ›");
    bar.appendChild(prev); bar.appendChild(next);
    target.appendChild(bar);

    var table = document.createElement("table"); table.className = "lr-explorer-table table";
    var head = document.createElement("tr");
    cols.forEach(function (c) { head.appendChild(cell("th", c.replace("_", " "))); });
    var thead = document.createElement("thead"); thead.appendChild(head); table.appendChild(thead);
    var tbody = document.createElement("tbody"); table.appendChild(tbody);
    target.appendChild(table);

    function filtered() {
      // every word must appear somewhere in the row ("exosome lung" finds rows with both)
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      return rows.filter(function (r) {
        if (tableSel && tableSel.value && r[tableCol] !== tableSel.value) return false;
        if (levelSel && levelSel.value && r[levelCol] !== levelSel.value) return false;
        var text = r.join(" ").toLowerCase();
        return words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    }
    function render() {
      var hits = filtered(), pages = Math.max(1, Math.ceil(hits.length / size));
      page = Math.min(page, pages - 1);
      tbody.textContent = "";
      hits.slice(page * size, page * size + size).forEach(function (r) {
        var tr = document.createElement("tr");
        r.forEach(function (v, i) {
          if (i === linkCol) { var td = document.createElement("td"); td.appendChild(linkList(v)); tr.appendChild(td); }
          else tr.appendChild(cell("td", v));
        });
        tbody.appendChild(tr);
      });
      if (!hits.length) {
        var empty = cell("td", "No matching rows."); empty.colSpan = cols.length;
        var tr0 = document.createElement("tr"); tr0.appendChild(empty); tbody.appendChild(tr0);
      }
      info.textContent = hits.length + (hits.length === 1 ? " row" : " rows") + " · page " + (page + 1) + " of " + pages;
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
    }
    search.addEventListener("input", function () { page = 0; render(); });
    [tableSel, levelSel].forEach(function (s) { if (s) s.addEventListener("change", function () { page = 0; render(); }); });
    prev.addEventListener("click", function () { page -= 1; render(); });
    next.addEventListener("click", function () { page += 1; render(); });
    render();
  }

  function init() {
    drawCharts();
    document.querySelectorAll(".lr-explorer[data-src]").forEach(loadExplorer);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
