/* EV Metastasis Living Review: draw charts and explorer tables from inert JSON on the page.
   Uses the vendored vega runtime (no CDN). Data values are only ever inserted as text. */
(function () {
  "use strict";

  // --- charts ---------------------------------------------------------------------------------------------
  // Each chart shows its static drawing (an image made when the book was built) until the script draws it: when
  // it nears the viewport once the reader has started to use the loaded page, or at once when the reader points
  // at it, touches it or moves the focus into it. The specs on the page are Vega (compiled from Vega-Lite when the book was built), so the page
  // fetches only the vega runtime, once, when its first chart is drawn; charts are drawn one per idle slice, so
  // that drawing them never holds up the reader.

  var runtime = null;
  function withVega() {
    if (window.vega && typeof window.vega.View === "function") return Promise.resolve(window.vega);
    if (!runtime) {
      runtime = new Promise(function (resolve, reject) {
        var base = document.documentElement.dataset.content_root;
        var tag = document.createElement("script");
        tag.src = (base == null ? "../" : base) + "_static/vendor/vega.js";
        tag.onload = function () {
          if (window.vega && typeof window.vega.View === "function") resolve(window.vega);
          else reject(new Error("chart library not loaded"));
        };
        tag.onerror = function () { reject(new Error("chart library not loaded")); };
        document.head.appendChild(tag);
      });
    }
    return runtime;
  }

  function fail(target, err) {
    // the static drawing (where there is one) stays: the chart is still there to read, only not interactive
    target.classList.add("lr-chart-failed");
    var note = document.createElement("p");
    note.className = "lr-chart-note";
    note.textContent = "This chart could not be drawn (" + (err && err.message || err) + "); its static copy is linked below.";
    target.appendChild(note);
    console.warn("livingreview: chart " + target.id + ": " + (err && err.message || err));
  }

  // a chart sized to its container: its compiled width follows containerSize()
  function fitsWidth(spec) {
    return (spec.signals || []).some(function (s) { return s.name === "width" && /containerSize/.test(s.init || ""); });
  }

  function drawChart(target) {
    if (target.dataset.drawn) return Promise.resolve();
    target.dataset.drawn = "1";
    var node = document.querySelector('script.lr-chart-spec[data-target="' + target.id + '"]');
    var spec;
    try {
      spec = JSON.parse(node ? node.textContent : "");
    } catch (err) {
      fail(target, err);
      return Promise.resolve();
    }
    return withVega().then(function (vega) {
      // drawn out of sight over the static drawing (at the box's width, which a container-sized chart reads),
      // then put in its place: the box keeps its height throughout
      var holder = document.createElement("div");
      holder.className = "lr-chart-live";
      target.appendChild(holder);
      var view = new vega.View(vega.parse(spec), { renderer: "svg", container: holder, hover: true });
      view.tooltip(tooltip);
      return view.runAsync().then(function () {
        var still = target.querySelector(".lr-chart-static");
        if (still) still.parentNode.removeChild(still);
        target.classList.add("lr-drawn");
        if (fitsWidth(spec)) follow(target, view);
      });
    }).catch(function (err) { fail(target, err); });
  }

  // vega's tooltip, as vega-tooltip shows it (a title, then a table of fields), every value set as text
  function tooltip(handler, event, item, value) {
    var el = document.getElementById("vg-tooltip-element");
    if (!el) {
      el = document.createElement("div");
      el.id = "vg-tooltip-element"; el.className = "vg-tooltip"; el.setAttribute("role", "tooltip");
      document.body.appendChild(el);
    }
    if (value == null || value === "") { el.classList.remove("visible"); return; }
    function text(v) { return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v); }
    el.textContent = "";
    if (typeof value === "object" && !Array.isArray(value)) {
      if (value.title != null) el.appendChild(cell("h2", text(value.title)));
      var table = document.createElement("table");
      Object.keys(value).forEach(function (key) {
        if (key === "title" || key === "image" || value[key] === undefined) return;
        var tr = document.createElement("tr"), k = cell("td", key), v = cell("td", text(value[key]));
        k.className = "key"; v.className = "value";
        tr.appendChild(k); tr.appendChild(v); table.appendChild(tr);
      });
      el.appendChild(table);
    } else {
      el.textContent = text(value);
    }
    el.classList.add("visible");
    var x = event.clientX + 10, y = event.clientY + 10, w = el.offsetWidth, h = el.offsetHeight;
    if (x + w > window.innerWidth) x = Math.max(0, event.clientX - 10 - w);
    if (y + h > window.innerHeight) y = Math.max(0, event.clientY - 10 - h);
    el.style.left = x + "px"; el.style.top = y + "px";
  }

  // vega re-reads a "container" width on window resize, in the middle of the theme's own re-layout (going from
  // a phone's width to a laptop's, it read the layout before the sidebar came back and drew 1834 px wide); so
  // each chart also follows its container's settled width
  function follow(target, view) {
    if (!view || typeof view.signal !== "function") return;
    function fit() {
      var width = target.clientWidth, svg = target.querySelector("svg");
      if (width && svg && Math.abs(parseFloat(svg.getAttribute("width")) - width) > 1) {
        try { view.signal("width", width).runAsync(); } catch (err) { /* a chart without a width signal */ }
      }
    }
    if (typeof ResizeObserver === "function") new ResizeObserver(fit).observe(target);
    window.addEventListener("resize", function () { window.setTimeout(fit, 250); });
  }

  var queue = [], drawing = false;
  function idle(fn) {
    if (typeof window.requestIdleCallback === "function") window.requestIdleCallback(fn, { timeout: 2000 });
    else window.setTimeout(fn, 50);
  }
  function pump() {
    if (drawing || !queue.length) return;
    drawing = true;
    idle(function () {
      var target = queue.shift();
      drawChart(target).then(function () { drawing = false; pump(); });
    });
  }
  function want(target, first) {
    if (target.dataset.drawn) return;
    var at = queue.indexOf(target);
    if (at >= 0) { if (!first) return; queue.splice(at, 1); }
    if (first) queue.unshift(target); else queue.push(target);
    pump();
  }

  function drawCharts() {
    // each chart on its own: one bad spec never stops the others or the explorer
    var charts = Array.prototype.slice.call(document.querySelectorAll(".lr-chart"));
    if (!charts.length) return;
    charts.forEach(function (target) {
      function now() { want(target, true); }
      target.addEventListener("pointerenter", now);
      target.addEventListener("focusin", now);
      target.addEventListener("touchstart", now, { passive: true });
    });
    function watch() {
      if (typeof IntersectionObserver !== "function") { charts.forEach(function (t) { want(t, false); }); return; }
      var seen = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) {
          if (e.isIntersecting) { seen.unobserve(e.target); want(e.target, false); }
        });
      }, { rootMargin: "50% 0px" });
      charts.forEach(function (t) { seen.observe(t); });
    }
    // charts near the screen are drawn once the reader starts to use the page (scrolls, points, touches or types)
    // after it has loaded: one who only reads what is on the screen reads the static drawings and never waits for
    // the chart runtime (its first evaluation is the longest task a chart page runs)
    var engaged = false, events = ["scroll", "wheel", "pointermove", "pointerdown", "touchstart", "keydown"];
    function engage() {
      if (engaged) return;
      engaged = true;
      events.forEach(function (name) { window.removeEventListener(name, engage, { passive: true }); });
      idle(watch);
    }
    function listen() {
      events.forEach(function (name) { window.addEventListener(name, engage, { passive: true }); });
    }
    if (document.readyState === "complete") listen();
    else window.addEventListener("load", listen);
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

  // "Label\tid; Label\tid": each study links to its entry on the book's bibliography page (``page``, from the
  // explorer's data-bibliography), or is plain text in a book without one
  function studyLinks(text, page) {
    var span = document.createElement("span");
    String(text).split("; ").forEach(function (pair, i) {
      var parts = pair.split("\t");
      if (parts.length !== 2 || !/^[a-z][a-z0-9-]*$/.test(parts[1])) return;
      if (i) span.appendChild(document.createTextNode("; "));
      if (!page) { span.appendChild(document.createTextNode(parts[0])); return; }
      var a = document.createElement("a");
      a.href = page + "#" + parts[1]; a.textContent = parts[0];
      span.appendChild(a);
    });
    return span;
  }

  function loadExplorer(target) {
    if (target.dataset.drawn) return;
    target.dataset.drawn = "1";
    var name = target.dataset.name || "explorer";
    function fromScript() {
      // a script loads from file:// as well as over http, where fetch() would be refused
      var tag = document.createElement("script");
      tag.src = target.dataset.script;
      tag.onload = function () {
        var data = (window.lrExplorerData || {})[name];
        if (data) { target.textContent = ""; drawExplorer(target, data); }
        else target.textContent = "Could not load the table of all rows.";
      };
      tag.onerror = function () { target.textContent = "Could not load the table of all rows (" + tag.src + ")."; };
      document.head.appendChild(tag);
    }
    if ((window.lrExplorerData || {})[name]) { target.textContent = ""; drawExplorer(target, window.lrExplorerData[name]); }
    else if (target.dataset.script) fromScript();
    else fetch(target.dataset.src)
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) { target.textContent = ""; drawExplorer(target, data); })
      .catch(function (err) { target.textContent = "Could not load the table: " + err.message; console.error(err); });
  }

  function drawExplorer(target, data) {
    var cols = data.columns, rows = data.rows, size = parseInt(target.dataset.pageSize, 10) || 25, page = 0;
    // columns named "_..." are not shown or searched: "_study_links" holds each study's label and bibliography id
    var shown = cols.map(function (c, i) { return c.charAt(0) === "_" ? -1 : i; }).filter(function (i) { return i >= 0; });
    var studiesCol = cols.indexOf("studies"), studyLinksCol = cols.indexOf("_study_links");
    var labels = data.labels || {}, orders = data.orders || {};
    var linkCol = cols.indexOf("links"), claimsCol = cols.indexOf("claims");
    var sortCol = -1, sortDir = 1;

    function rank(col, value) {
      var order = orders[cols[col]];
      var i = order ? order.indexOf(value) : -1;
      return i;
    }
    function compare(col) {
      return function (a, b) {
        var ra = rank(col, a[col]), rb = rank(col, b[col]);
        if (ra >= 0 || rb >= 0) return (ra - rb) * sortDir;
        var x = String(a[col]), y = String(b[col]);
        var nx = parseFloat(x), ny = parseFloat(y);
        if (!isNaN(nx) && !isNaN(ny) && String(nx) === x && String(ny) === y) return (nx - ny) * sortDir;
        return x.localeCompare(y, undefined, { numeric: true }) * sortDir;
      };
    }

    var bar = document.createElement("div"); bar.className = "lr-explorer-bar";
    var search = document.createElement("input");
    search.type = "search"; search.placeholder = "Search all rows"; search.setAttribute("aria-label", "Search all rows");
    bar.appendChild(search);
    // a multi-valued column ("claims") holds '; '-separated values: filter on each value, not on the whole cell
    function cellValues(col, r) { return col === claimsCol ? String(r[col]).split("; ") : [r[col]]; }
    function select(col, label) {
      var s = document.createElement("select"); s.setAttribute("aria-label", "Filter by " + label);
      s.appendChild(new Option("All " + label, ""));
      var all = [];
      rows.forEach(function (r) { all.push.apply(all, cellValues(col, r)); });
      var values = Array.from(new Set(all)).filter(function (v) { return v !== ""; });
      values.sort(function (a, b) {
        var ra = rank(col, a), rb = rank(col, b);
        return (ra >= 0 || rb >= 0) ? ra - rb : String(a).localeCompare(String(b));
      });
      values.forEach(function (v) { s.appendChild(new Option(v, v)); });
      bar.appendChild(s); return s;
    }
    // one filter per column the review offers (table, evidence level, its facets, claims), as the data name them
    var filters = (data.filters || []).map(function (f) {
      var col = cols.indexOf(f[0]);
      return col >= 0 ? { col: col, key: f[0] === "claims" ? "claim" : f[0], sel: select(col, f[1]) } : null;
    }).filter(Boolean);
    // filters in the page's address (?claim=CLAIM-0003&table=...&q=words), so that a link can open a filtered list
    var params = new URLSearchParams(window.location.search);
    filters.forEach(function (f) {
      var want = params.get(f.key);
      if (want && Array.from(f.sel.options).some(function (o) { return o.value === want; })) f.sel.value = want;
    });
    if (params.get("q")) search.value = params.get("q");
    var info = cell("span", ""); info.className = "lr-explorer-info"; info.setAttribute("aria-live", "polite");
    bar.appendChild(info);
    var prev = cell("button", "‹ Previous"), next = cell("button", "Next ›");
    bar.appendChild(prev); bar.appendChild(next);
    target.appendChild(bar);

    var scroller = document.createElement("div"); scroller.className = "lr-explorer-scroll";
    scroller.tabIndex = 0; scroller.setAttribute("role", "region"); scroller.setAttribute("aria-label", "All rows");
    var table = document.createElement("table"); table.className = "lr-explorer-table table";
    var head = document.createElement("tr");
    var headers = cols.map(function (c, i) {
      var th = document.createElement("th");
      if (shown.indexOf(i) < 0) return th;
      th.setAttribute("aria-sort", "none");
      var button = cell("button", labels[c] || c.replace(/_/g, " "));
      button.type = "button"; button.className = "lr-sort";
      button.title = "Sort by " + (labels[c] || c);
      button.addEventListener("click", function () {
        if (sortCol === i) sortDir = -sortDir; else { sortCol = i; sortDir = 1; }
        headers.forEach(function (h, j) {
          h.setAttribute("aria-sort", j === sortCol ? (sortDir > 0 ? "ascending" : "descending") : "none");
        });
        page = 0; render();
      });
      th.appendChild(button); head.appendChild(th); return th;
    });
    var thead = document.createElement("thead"); thead.appendChild(head); table.appendChild(thead);
    var tbody = document.createElement("tbody"); table.appendChild(tbody);
    scroller.appendChild(table);
    target.appendChild(scroller);

    function filtered() {
      // every word must appear somewhere in the row ("exosome lung" finds rows with both)
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var hits = rows.filter(function (r) {
        if (filters.some(function (f) { return f.sel.value && cellValues(f.col, r).indexOf(f.sel.value) < 0; })) return false;
        var text = shown.map(function (i) { return r[i]; }).join(" ").toLowerCase();
        return words.every(function (w) { return text.indexOf(w) >= 0; });
      });
      return sortCol >= 0 ? hits.slice().sort(compare(sortCol)) : hits;
    }
    function render() {
      var hits = filtered(), pages = Math.max(1, Math.ceil(hits.length / size));
      page = Math.min(page, pages - 1);
      tbody.textContent = "";
      hits.slice(page * size, page * size + size).forEach(function (r) {
        var tr = document.createElement("tr");
        shown.forEach(function (i) {
          var v = r[i], td;
          if (i === linkCol) { td = document.createElement("td"); td.appendChild(linkList(v)); }
          else if (i === studiesCol && studyLinksCol >= 0 && r[studyLinksCol]) {
            td = document.createElement("td"); td.appendChild(studyLinks(r[studyLinksCol], target.dataset.bibliography));
          }
          else td = cell("td", v);
          // each cell says what it is, so that a row reads as a card when the table is laid out as one
          td.dataset.label = labels[cols[i]] || cols[i]; td.dataset.col = cols[i];
          if (v === "" || v == null) td.className = "lr-empty";
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
      if (!hits.length) {
        var empty = cell("td", "No matching rows."); empty.colSpan = shown.length;
        var tr0 = document.createElement("tr"); tr0.appendChild(empty); tbody.appendChild(tr0);
      }
      info.textContent = hits.length + (hits.length === 1 ? " row" : " rows") + " · page " + (page + 1) + " of " + pages;
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
    }
    search.addEventListener("input", function () { page = 0; render(); });
    filters.forEach(function (f) { f.sel.addEventListener("change", function () { page = 0; render(); }); });
    prev.addEventListener("click", function () { page -= 1; render(); });
    next.addEventListener("click", function () { page += 1; render(); });
    render();
  }

  function rootLinks() {
    // footer links name a path from the book's root; Sphinx says where that root is from this page
    var base = document.documentElement.dataset.content_root;
    if (base == null) return;
    document.querySelectorAll("a[data-lr-href]").forEach(function (a) {
      var path = a.dataset.lrHref;
      if (/^[A-Za-z0-9_.\/-]+$/.test(path) && path.indexOf("..") < 0) a.setAttribute("href", base + path);
    });
  }

  // a box that scrolls sideways (a wide table or chart on a phone) must be reachable from the keyboard
  function focusableCharts() {
    document.querySelectorAll(".lr-chart").forEach(function (el) { el.tabIndex = 0; });
  }
  function focusableTables() {
    // not a table in a <details> (a chart's data): its box scrolls and is reachable already, and reading the width
    // of a closed one made the browser lay out its hidden content on the spot (a tenth of a second each on a
    // phone); every width is read before any change, which would make the next read lay out the page again
    var tables = Array.prototype.slice.call(document.querySelectorAll(".bd-article table"))
      .filter(function (el) { return !el.closest("details"); });
    tables.filter(function (el) { return el.scrollWidth > el.clientWidth + 1 && el.tabIndex !== 0; })
      .forEach(function (el) { el.tabIndex = 0; });
  }

  function init() {
    rootLinks();
    focusableCharts();
    // a table's width is read once the page has been laid out for its first paint: read while the page was still
    // being set up, it made the browser lay out the whole page an extra time (a third of a second on a phone)
    function tables() { idle(focusableTables); }
    if (document.readyState === "complete") tables();
    else window.addEventListener("load", tables);
    window.addEventListener("resize", focusableTables);
    drawCharts();
    // the explorer's rows (every row of the review) are fetched and laid out when it comes within a screen of
    // the reader (at once when the page opens on it, as a claim's "all N rows" link does), not while the reader
    // reads the top of its page
    document.querySelectorAll(".lr-explorer[data-src]").forEach(function (target) {
      if (typeof IntersectionObserver !== "function") { loadExplorer(target); return; }
      var near = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) { near.disconnect(); loadExplorer(target); }
      }, { rootMargin: "100% 0px" });
      near.observe(target);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  // the icon font (about 150 KB) is asked for only once the page has loaded and its text is on the screen
  // (livingreview.css holds the icons' glyphs until the root is marked): on a slow phone the load event can come
  // before the first paint, and the font then competed with it for the connection
  function icons() { document.documentElement.classList.add("lr-icons"); }
  function afterFirstPaint(done) {
    var called = false;
    function once() { if (!called) { called = true; done(); } }
    window.setTimeout(once, 5000);  // a page loaded out of sight reports no first paint
    try {
      if (performance.getEntriesByName("first-contentful-paint").length) { once(); return; }
      var paints = new PerformanceObserver(function (list) {
        if (list.getEntriesByName("first-contentful-paint").length) { paints.disconnect(); once(); }
      });
      paints.observe({ type: "paint", buffered: true });
    } catch (err) {
      once();  // a browser that does not report paints
    }
  }
  function iconsLater() { afterFirstPaint(icons); }
  if (document.readyState === "complete") iconsLater();
  else window.addEventListener("load", iconsLater);
})();
