// The Assay explorer (docs/explorer.md): a single-page app over this node's JSON-RPC (POST /) and its new_block
// WebSocket subscription. Pages are hash routes; every list is bounded and paged. The DOM is built with
// createElement and textContent only, so nothing the chain holds is ever parsed as HTML.
"use strict";

const PAGE_SIZE = 20;           // blocks per page of the blocks list
const TX_PAGE_SIZE = 50;        // transactions per page of a block
const JOB_PAGE_SIZE = 50;       // jobs per page (the jobs method allows at most 1000)
const RECENT_BLOCKS = 30;       // blocks behind the overview's figures and charts
const SIGNING_WINDOW = 50;      // blocks behind the validators' recent signing
const CREDIT = 1000000n;        // base units per credit
const JOB_STATES = ["open", "result_posted", "settled", "refunded", "slashed"];

// ---- JSON-RPC over HTTP ----

class RPCError extends Error {
  constructor(error) { super(error.message); this.code = error.code; }
}

let nextId = 1;

async function rpc(method, params = {}) {
  const [answer] = await batch([call(method, params)]);
  if (answer.error) throw new RPCError(answer.error);
  return answer.result;
}

// One entry of a batch.
function call(method, params = {}) { return [method, params]; }

// Sends several calls in one JSON-RPC batch (at most 1000) and returns the answers in call order.
async function batch(calls) {
  if (calls.length === 0) return [];
  const first = nextId;
  const body = calls.map(([method, params], i) => ({ jsonrpc: "2.0", id: first + i, method, params }));
  nextId += calls.length;
  const response = await fetch("/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const answers = await response.json();
  if (!Array.isArray(answers)) throw new RPCError(answers.error || { message: "bad batch answer" });
  const byId = new Map(answers.map((answer) => [answer.id, answer]));
  return body.map((call) => byId.get(call.id) || { error: { code: -32603, message: "no answer" } });
}

async function results(calls) {
  return (await batch(calls)).map((answer) => (answer.error ? null : answer.result));
}

// ---- formatting ----

// Amounts are decimal strings of base units (they may pass 2^53): shown as credits with all six decimals.
function credits(amount) {
  const units = BigInt(amount);
  return `${units / CREDIT}.${(units % CREDIT).toString().padStart(6, "0")}`;
}

function short(hex) { return hex && hex.length > 20 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex; }

function time(ms) { return new Date(Number(ms)).toISOString().replace("T", " ").replace(".000Z", "Z"); }

// ---- DOM helpers ----

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function link(href, text, attrs = {}) { return h("a", { href, ...attrs }, text); }
function mono(text, attrs = {}) { return h("span", { class: "mono", title: text, ...attrs }, short(text)); }
function blockLink(height) { return link(`#/block/${height}`, String(height)); }
function txLink(hash) { return link(`#/tx/${hash}`, mono(hash)); }
function accountLink(address) { return link(`#/account/${address}`, mono(address)); }
function providerLink(address) { return link(`#/provider/${address}`, mono(address)); }
function jobLink(id) { return link(`#/job/${id}`, mono(id)); }
function amount(value, attrs = {}) { return h("span", { class: "amount", ...attrs }, credits(value)); }

// A two-column table of label and value; `field` names the value cell for tests and styling.
function facts(rows) {
  return h("table", { class: "facts" }, h("tbody", {}, rows.filter(Boolean).map(([label, value, field]) =>
    h("tr", {}, h("th", { scope: "row" }, label), h("td", { "data-field": field }, value)))));
}

function table(headers, rows, attrs = {}) {
  if (rows.length === 0) return h("p", { class: "empty" }, "none");
  return h("div", { class: "scroll" }, h("table", { class: "list", ...attrs },
    h("thead", {}, h("tr", {}, headers.map((title) => h("th", {}, title)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell)))))));
}

function section(title, ...content) { return h("section", {}, h("h2", {}, title), ...content); }

function eventsTable(events) {
  return table(["type", "attributes"], events.map((event) => [
    h("span", { class: "tag" }, event.type),
    h("dl", { class: "attrs" }, event.attributes.map((attribute) => [h("dt", {}, attribute.key), h("dd", {}, attributeValue(attribute))])),
  ]), { "data-list": "events" });
}

// Event attributes that name an account, job or transaction become links; amounts stay as base units.
function attributeValue({ key, value }) {
  if (value.startsWith("assay1")) return accountLink(value);
  if (key === "job") return jobLink(value);
  if (/^[0-9a-f]{64}$/.test(value)) return mono(value);
  return value;
}

function pager(links) { return h("nav", { class: "pager" }, links.filter(Boolean)); }

// ---- charts (SVG, drawn here) ----

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

// Bars of `values` (numbers >= 0), oldest left, with the maximum labelled.
function barChart(title, values, unit) {
  const width = 300, height = 80, max = Math.max(1, ...values), gap = 1;
  const bar = values.length ? width / values.length : width;
  const bars = values.map((value, i) => {
    const tall = Math.max(1, (value / max) * (height - 14));
    return svg("rect", { x: (i * bar).toFixed(1), y: (height - tall).toFixed(1), width: Math.max(1, bar - gap).toFixed(1), height: tall.toFixed(1) },
      svg("title", {}, `${value} ${unit}`));
  });
  const label = svg("text", { x: "2", y: "10" }, `max ${Math.round(max * 100) / 100} ${unit}`);
  return h("figure", { class: "chart" },
    svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, preserveAspectRatio: "none" }, label, ...bars),
    h("figcaption", {}, title));
}

// ---- shared reads ----

// The blocks from `top` down to `bottom` (inclusive), newest first, in one batch.
async function blocksDown(top, bottom) {
  const calls = [];
  for (let height = top; height >= Math.max(1, bottom); height--) calls.push(call("block", { height }));
  return (await results(calls)).filter(Boolean);
}

// For each validator (public key), over the commits the last blocks carry: how many certified a height at which it
// was in the set (`validators` at that height: one added or removed meanwhile is not counted missing outside its
// membership), and how many of those it signed.
async function signingRecord(blocks) {
  const commits = blocks.filter((block) => block.last_commit);
  const sets = await results(commits.map((block) => call("validators", { height: block.header.height - 1 })));
  const record = new Map();
  commits.forEach((block, i) => {
    const signers = new Set(block.last_commit.signatures.map((signature) => signature.validator));
    for (const member of sets[i] ? sets[i].validators : []) {
      const entry = record.get(member.public_key) || { signed: 0, eligible: 0 };
      entry.eligible++;
      if (signers.has(member.public_key)) entry.signed++;
      record.set(member.public_key, entry);
    }
  });
  return { record, heights: commits.length };
}

// ---- pages ----

const pages = {
  async overview() {
    const status = await rpc("status");
    const [validators, market, blocks] = await Promise.all([
      rpc("validators"), rpc("market"), blocksDown(status.latest_height, status.latest_height - RECENT_BLOCKS + 1)]);
    const ordered = blocks.slice().reverse();
    const intervals = ordered.slice(1).map((block, i) => (block.header.time_ms - ordered[i].header.time_ms) / 1000);
    const txCounts = ordered.map((block) => block.transactions.length);
    const span = ordered.length > 1 ? (ordered.at(-1).header.time_ms - ordered[0].header.time_ms) / 1000 : 0;
    const txs = txCounts.slice(1).reduce((sum, count) => sum + count, 0);
    const interval = intervals.length ? span / intervals.length : 0;
    const { record, heights } = await signingRecord(blocks);
    return [
      h("h1", {}, "Overview"),
      h("div", { class: "cards" },
        card("height", blockLink(status.latest_height), "height"),
        card("chain", status.chain_id, "chain"),
        card("block interval", `${interval.toFixed(2)} s`, "interval"),
        card("transactions/s", span > 0 ? (txs / span).toFixed(2) : "0.00", "tps"),
        card("mempool", String(status.mempool_count), "mempool")),
      h("div", { class: "charts" },
        barChart(`block interval (s), last ${intervals.length} blocks`, intervals, "s"),
        barChart(`transactions per block, last ${txCounts.length} blocks`, txCounts, "txs")),
      section("Market",
        h("div", { class: "cards" },
          JOB_STATES.map((state) => card(`${state.replace("_", " ")} jobs`, link(`#/jobs?state=${state}`, String(market.jobs[state])), `jobs-${state}`)),
          card("credits escrowed", amount(market.escrowed), "escrowed"),
          card("settled volume", amount(market.settled_volume), "settled-volume"),
          card("credits burned", amount(market.burned), "burned"))),
      section(`Validators (signatures in the last ${heights} commits)`,
        validatorsTable(validators, record), signingNote()),
    ];
  },

  async blocks(query) {
    const status = await rpc("status");
    const top = Math.min(Number(query.get("before") || status.latest_height + 1) - 1, status.latest_height);
    const blocks = await blocksDown(top, top - PAGE_SIZE + 1);
    const bottom = top - PAGE_SIZE + 1;
    return [
      h("h1", {}, "Blocks"),
      table(["height", "hash", "time", "txs", "proposer"], blocks.map((block) => [
        blockLink(block.header.height), link(`#/block/${block.header.height}`, mono(block.hash)), time(block.header.time_ms),
        String(block.transactions.length), mono(block.header.proposer)]), { "data-list": "blocks" }),
      pager([
        top < status.latest_height && link(`#/blocks?before=${Math.min(top + PAGE_SIZE + 1, status.latest_height + 1)}`, "newer"),
        bottom > 1 && link(`#/blocks?before=${bottom}`, "older"),
      ]),
    ];
  },

  async block(query, height) {
    const number = Number(height);
    const [block, outcome] = await Promise.all([rpc("block", { height: number }), rpc("block_results", { height: number })]);
    const page = Math.max(0, Number(query.get("page") || 0));
    const shown = outcome.transactions.slice(page * TX_PAGE_SIZE, (page + 1) * TX_PAGE_SIZE);
    const views = await results(shown.map((entry) => call("tx", { hash: entry.hash })));
    const header = block.header;
    return [
      h("h1", {}, `Block ${header.height}`),
      facts([
        ["hash", h("span", { class: "mono wrap" }, block.hash), "hash"],
        ["time", time(header.time_ms)],
        ["proposer", mono(header.proposer)],
        ["previous block", header.height > 1 ? link(`#/block/${header.height - 1}`, mono(header.previous_block_hash)) : mono(header.previous_block_hash)],
        ["state root", mono(header.state_root), "state-root"],
        ["transactions root", mono(header.transactions_root)],
        ["validator set hash", mono(header.validator_set_hash)],
        ["last commit hash", mono(header.last_commit_hash)],
      ]),
      section("Commit signers", block.commit
        ? table(["validator", "signature"], block.commit.signatures.map((signature) => [mono(signature.validator), mono(signature.signature)]), { "data-list": "signers" })
        : h("p", { class: "empty" }, "not yet: the next block carries this block's commit")),
      section(`Transactions (${outcome.transactions.length})`,
        table(["hash", "kind", "sender", "result"], shown.map((entry, i) => [
          txLink(entry.hash), views[i] ? views[i].kind : "", views[i] ? accountLink(views[i].sender) : "",
          h("span", { class: entry.code === 0 ? "ok" : "bad" }, `${entry.code} ${entry.code_name}`)]), { "data-list": "transactions" }),
        pager([
          page > 0 && link(`#/block/${header.height}?page=${page - 1}`, "previous"),
          (page + 1) * TX_PAGE_SIZE < outcome.transactions.length && link(`#/block/${header.height}?page=${page + 1}`, "next"),
        ])),
      section("End-of-block events", eventsTable(outcome.end_block_events)),
      pager([header.height > 1 && link(`#/block/${header.height - 1}`, "previous block"), link(`#/block/${header.height + 1}`, "next block")]),
    ];
  },

  async tx(query, hash) {
    const tx = await rpc("tx", { hash });
    return [
      h("h1", {}, "Transaction"),
      facts([
        ["hash", h("span", { class: "mono wrap" }, tx.hash), "hash"],
        ["height", blockLink(tx.height), "height"],
        ["index", String(tx.index)],
        ["kind", tx.kind, "kind"],
        ["sender", accountLink(tx.sender)],
        ["nonce", String(tx.nonce)],
        ["fee", amount(tx.fee), "fee"],
        ["result", h("span", { class: tx.code === 0 ? "ok" : "bad" }, `${tx.code} ${tx.code_name}`), "result"],
        tx.log && ["log", tx.log],
      ]),
      section("Body", facts(Object.entries(tx.body).map(([key, value]) => [key, bodyValue(key, value)]))),
      section("Events", eventsTable(tx.events)),
    ];
  },

  async account(query, address) {
    const [account, stake, asClient, asProvider] = await Promise.all([
      rpc("account", { address }), rpc("provider", { address }),
      rpc("jobs", { client: address, limit: JOB_PAGE_SIZE }), rpc("jobs", { provider: address, limit: JOB_PAGE_SIZE })]);
    return [
      h("h1", {}, "Account"),
      facts([
        ["address", h("span", { class: "mono wrap" }, address), "address"],
        ["balance", amount(account.balance), "balance"],
        ["bonded stake", amount(stake.bonded), "bonded"],
        ["unbonding", stake.unbonding.length ? stake.unbonding.map((entry) => h("div", {}, amount(entry.amount), ` until height ${entry.release_height}`)) : "none"],
        ["next nonce", String(account.nonce), "nonce"],
        stake.offers.length > 0 && ["provider", link(`#/provider/${address}`, "provider page")],
      ]),
      section("Jobs as client", jobsTable(asClient.jobs), moreJobs({ client: address }, asClient.jobs)),
      section("Jobs as provider", jobsTable(asProvider.jobs), moreJobs({ provider: address }, asProvider.jobs)),
    ];
  },

  async validators() {
    const status = await rpc("status");
    const [validators, blocks] = await Promise.all([
      rpc("validators"), blocksDown(status.latest_height, status.latest_height - SIGNING_WINDOW + 1)]);
    const { record, heights } = await signingRecord(blocks);
    return [
      h("h1", {}, "Validators"),
      facts([["height", String(validators.height)], ["total power", validators.total_power, "total-power"]]),
      section(`Signing over the last ${heights} commits`, validatorsTable(validators, record)),
      signingNote(),
      section(`Evidence over the last ${blocks.length} blocks`, evidenceTable(await evidenceIn(blocks))),
      h("p", { class: "note" }, "A validator proven to have double-signed is slashed, tombstoned and leaves the set two heights after its evidence is committed."),
    ];
  },

  async offers(query) {
    const all = (await rpc("offers")).offers;
    const page = Math.max(0, Number(query.get("page") || 0));
    const byKernel = new Map();
    for (const offer of all) for (const kernel of offer.kernels) byKernel.set(kernel, [...(byKernel.get(kernel) || []), offer]);
    const kernels = [...byKernel.keys()].sort();
    const shown = all.slice(page * JOB_PAGE_SIZE, (page + 1) * JOB_PAGE_SIZE);
    return [
      h("h1", {}, "Offers"),
      section("Price per work unit by kernel", table(["kernel", "offers", "lowest", "highest", "free capacity"], kernels.map((kernel) => {
        const offers = byKernel.get(kernel);
        const prices = offers.map((offer) => BigInt(offer.price_per_work_unit)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const free = offers.reduce((sum, offer) => sum + offer.capacity - offer.open_jobs, 0);
        return [kernel, String(offers.length), amount(prices[0].toString()), amount(prices.at(-1).toString()), String(free)];
      }), { "data-list": "kernels" })),
      section(`Live offers (${all.length})`, table(["offer", "provider", "kernels", "price per work unit", "open / capacity", "expires"],
        shown.map((offer) => [mono(offer.id), providerLink(offer.provider), offer.kernels.join(", "),
          amount(offer.price_per_work_unit), `${offer.open_jobs} / ${offer.capacity}`, String(offer.expiry_height)]), { "data-list": "offers" }),
      pager([page > 0 && link(`#/offers?page=${page - 1}`, "previous"),
        (page + 1) * JOB_PAGE_SIZE < all.length && link(`#/offers?page=${page + 1}`, "next")])),
    ];
  },

  async jobs(query) {
    const filter = {};
    for (const key of ["state", "client", "provider", "after"]) if (query.get(key)) filter[key] = query.get(key);
    const jobs = (await rpc("jobs", { ...filter, limit: JOB_PAGE_SIZE })).jobs;
    const input = (name, placeholder) => h("input", { name, placeholder, value: filter[name] || "" });
    const state = h("select", { name: "state" }, h("option", { value: "" }, "any state"),
      JOB_STATES.map((name) => h("option", { value: name, ...(filter.state === name ? { selected: "" } : {}) }, name)));
    const form = h("form", { class: "filters", onsubmit: (event) => {
      event.preventDefault();
      const chosen = new URLSearchParams();
      for (const [key, value] of new FormData(form)) if (value) chosen.set(key, value.trim());
      location.hash = `#/jobs?${chosen}`;
    } }, state, input("client", "client address"), input("provider", "provider address"), h("button", { type: "submit" }, "Filter"));
    const { after, ...first } = filter;
    return [
      h("h1", {}, "Jobs"), form, jobsTable(jobs),
      pager([after && link(`#/jobs?${new URLSearchParams(first)}`, "first page"),
        jobs.length === JOB_PAGE_SIZE && link(`#/jobs?${new URLSearchParams({ ...first, after: jobs.at(-1).id })}`, "next page")]),
    ];
  },

  async job(query, id) {
    const job = await rpc("job", { id });
    const resultTx = job.result ? await rpc("tx", { hash: job.result.result_tx }).catch(() => null) : null;
    const payment = job.result ? (BigInt(job.price_per_work_unit) * BigInt(job.result.work_units)).toString() : null;
    const life = [
      ["created", h("span", {}, "height ", blockLink(job.created_height), " by ", txLink(job.id))],
      job.result && ["result posted", resultTx ? h("span", {}, "height ", blockLink(resultTx.height), " by ", txLink(job.result.result_tx)) : txLink(job.result.result_tx)],
      job.result && ["challenge window ends", `height ${job.result.window_end}`],
      ["deadline", `height ${job.deadline}`],
      ["ended", job.settlement ? h("span", {}, `${job.state}: ${job.reason} at height `, blockLink(job.settlement.height)) : "not yet", "ended"],
    ];
    const end = job.settlement;
    return [
      h("h1", {}, "Job"),
      facts([
        ["id", h("span", { class: "mono wrap" }, job.id), "id"],
        ["state", h("span", { class: `tag state-${job.state}` }, job.state), "state"],
        ["client", accountLink(job.client), "client"],
        ["provider", providerLink(job.provider), "provider"],
        ["kernel", job.kernel],
        ["offer", mono(job.offer_id)],
        ["model", mono(job.model_hash)],
        ["input", h("span", {}, mono(job.input_hash), ` (${job.input_bytes} bytes)`)],
        ["price per work unit", amount(job.price_per_work_unit), "price"],
        ["max work units", String(job.max_work_units), "max-work-units"],
        ["escrow held", amount(job.escrow), "escrow"],
        job.result && ["work units", String(job.result.work_units), "work-units"],
        payment && ["price x work units", amount(payment), "payment"],
        end && ["paid to the provider", amount(end.paid), "paid"],
        end && ["burned (take rate)", amount(end.burned), "burned"],
        end && ["refunded to the client", amount(end.refund), "refund"],
        end && ["provider stake slashed", amount(end.slashed), "slashed"],
        job.result && ["output", link(`/blobs/${job.result.output_hash}`, mono(job.result.output_hash))],
      ]),
      section("Life", facts(life)),
    ];
  },

  async provider(query, address) {
    const ended = (state) => rpc("jobs", { provider: address, state, limit: 1000 }).then((answer) => answer.jobs);
    const [provider, settled, refunded, slashed] = await Promise.all(
      [rpc("provider", { address }), ended("settled"), ended("refunded"), ended("slashed")]);
    // What the ledger moved at each job's end (its settlement), summed exactly.
    const sum = (jobs, field) => jobs.reduce((total, job) => total + BigInt(job.settlement[field]), 0n);
    const earned = sum(settled, "paid");
    const lost = sum(refunded, "slashed") + sum(slashed, "slashed");
    const capped = (...lists) => (lists.some((jobs) => jobs.length === 1000) ? " (first 1000 jobs of each state)" : "");
    return [
      h("h1", {}, "Provider"),
      facts([
        ["address", link(`#/account/${address}`, h("span", { class: "mono wrap" }, address)), "address"],
        ["bonded stake", amount(provider.bonded), "bonded"],
        ["unbonding", provider.unbonding.length ? provider.unbonding.map((entry) => h("div", {}, amount(entry.amount), ` until height ${entry.release_height}`)) : "none"],
        ["jobs done (settled)", String(provider.jobs.settled), "jobs-settled"],
        ["slashes (jobs slashed)", String(provider.jobs.slashed), "slashes"],
        ["refunded (no result)", String(provider.jobs.refunded), "jobs-refunded"],
        ["open / result posted", `${provider.jobs.open} / ${provider.jobs.result_posted}`],
        ["earnings", h("span", {}, amount(earned.toString(), { "data-field": "earnings-value" }),
          capped(settled)), "earnings"],
        ["stake slashed", h("span", {}, amount(lost.toString(), { "data-field": "slashed-value" }),
          capped(refunded, slashed)), "stake-slashed"],
      ]),
      section("Offers", table(["offer", "kernels", "price per work unit", "open / capacity", "expires"], provider.offers.map((offer) =>
        [mono(offer.id), offer.kernels.join(", "), amount(offer.price_per_work_unit), `${offer.open_jobs} / ${offer.capacity}`, String(offer.expiry_height)]))),
      section("Jobs", JOB_STATES.map((state) => link(`#/jobs?${new URLSearchParams({ provider: address, state })}`, `${state} (${provider.jobs[state]})`, { class: "chip" }))),
    ];
  },
};

function card(label, value, field) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value", "data-field": field }, value));
}

function signingNote() {
  return h("p", { class: "note" }, "Missed: commits of heights at which the validator was in the set that carry no signature of it (signed / commits while a member). A commit holds the precommits the next proposer had gathered (at least 2/3 of the power), so a validator that voted late can be missing from it while online.");
}

// The double signs punished in `blocks`: each evidence transaction's `tombstoned` and `slashed` events, read from
// `block_results` of the blocks that carry transactions (one batch).
async function evidenceIn(blocks) {
  const carrying = blocks.filter((block) => block.transactions.length > 0);
  const answers = await results(carrying.map((block) => call("block_results", { height: block.header.height })));
  return answers.filter(Boolean).flatMap((answer) => answer.transactions.flatMap((tx) => {
    const attributes = (type) => {
      const event = tx.events.find((candidate) => candidate.type === type);
      return event && Object.fromEntries(event.attributes.map((attribute) => [attribute.key, attribute.value]));
    };
    const tombstoned = attributes("tombstoned");
    return tombstoned ? [{ height: answer.height, validator: tombstoned.validator, slashed: attributes("slashed"), hash: tx.hash }] : [];
  }));
}

function evidenceTable(found) {
  return table(["height", "validator", "slashed", "transaction"], found.map((evidence) => [
    blockLink(evidence.height), mono(evidence.validator), evidence.slashed ? amount(evidence.slashed.amount) : "0",
    txLink(evidence.hash),
  ]), { "data-list": "evidence" });
}

function validatorsTable(validators, record) {
  return table(["address", "power", "signed", "missed"], validators.validators.map((validator) => {
    const { signed, eligible } = record.get(validator.public_key) || { signed: 0, eligible: 0 };
    return [accountLink(validator.address), validator.power, `${signed} / ${eligible}`,
      h("span", { class: signed < eligible ? "bad" : "ok" }, String(eligible - signed))];
  }), { "data-list": "validators" });
}

function jobsTable(jobs) {
  return table(["job", "state", "client", "provider", "kernel", "escrow", "created"], jobs.map((job) => [
    jobLink(job.id), h("span", { class: `tag state-${job.state}` }, job.state), accountLink(job.client), providerLink(job.provider),
    job.kernel, amount(job.escrow), blockLink(job.created_height)]), { "data-list": "jobs" });
}

function moreJobs(filter, jobs) {
  return jobs.length === JOB_PAGE_SIZE ? pager([link(`#/jobs?${new URLSearchParams(filter)}`, "all of them")]) : null;
}

// A decoded body field: amounts as credits, ids of jobs and offers as links where a page exists.
function bodyValue(key, value) {
  if (key === "action" && typeof value === "object") return JSON.stringify(value);
  if (Array.isArray(value)) return value.join(", ");
  if (["amount", "price_per_work_unit", "bond"].includes(key)) return amount(value);
  if (key === "job_id") return jobLink(value);
  if (typeof value === "string" && value.startsWith("assay1")) return accountLink(value);
  if (typeof value === "string" && /^[0-9a-f]{64}$/.test(value)) return mono(value);
  return String(value);
}

// ---- search ----

// An address, a height, or 64 hex digits tried as a job id, a transaction and a block hash in turn (a job's id is
// also the hash of the transaction that created it; the job page links to that transaction).
async function search(text) {
  const term = text.trim().toLowerCase().replace(/^0x/, "");
  if (/^assay1[02-9ac-hj-np-z]+$/.test(term)) return `#/account/${term}`;
  if (/^\d+$/.test(term)) return `#/block/${term}`;
  if (/^[0-9a-f]{64}$/.test(term)) {
    const [job, tx, block] = await batch([call("job", { id: term }), call("tx", { hash: term }), call("block", { hash: term })]);
    if (job.result) return `#/job/${term}`;
    if (tx.result) return `#/tx/${term}`;
    if (block.result) return `#/block/${block.result.header.height}`;
  }
  return null;
}

// ---- routing and live updates ----

const LIVE_PAGES = new Set(["overview", "blocks", "validators"]);
let rendering = Promise.resolve();
let currentRoute = null;

function parseRoute() {
  const [path, queryText] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const name = parts[0] || "overview";
  return { name: pages[name] ? name : null, args: parts.slice(1), query: new URLSearchParams(queryText || "") };
}

async function render() {
  const route = parseRoute();
  currentRoute = route;
  const main = document.getElementById("page");
  if (!route.name) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "No such page. "), link("#/", "Overview"));
    return;
  }
  try {
    const content = await pages[route.name](route.query, ...route.args);
    if (currentRoute !== route) return;
    main.replaceChildren(...content);
    main.dataset.page = route.name;
  } catch (error) {
    if (currentRoute !== route) return;
    main.replaceChildren(h("h1", {}, "Error"), h("p", { class: "error", "data-field": "error" }, error.message));
    main.dataset.page = "error";
  }
}

function rerender() { rendering = rendering.then(render); }

function connectLive() {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/websocket`);
  const live = document.getElementById("live");
  socket.addEventListener("open", () => socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "subscribe", params: { event: "new_block" } })));
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.method !== "subscription") return;
    live.textContent = `height ${data.params.result.height}`;
    live.dataset.height = String(data.params.result.height);
    if (currentRoute && LIVE_PAGES.has(currentRoute.name) && !currentRoute.query.get("before")) rerender();
  });
  socket.addEventListener("close", () => {
    live.textContent = "reconnecting";
    setTimeout(connectLive, 2000);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("search-input");
    const target = await search(input.value);
    if (target) location.hash = target;
    else document.getElementById("page").replaceChildren(h("h1", {}, "Search"), h("p", { class: "error", "data-field": "error" }, `nothing found for "${input.value}"`));
  });
  window.addEventListener("hashchange", rerender);
  rerender();
  connectLive();
});
