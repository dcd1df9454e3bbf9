// Tests flywheel.js against a running server: node test_flywheel.mjs URL [KEY]
// (tests/e2e/examples_test.cc starts `flywheel serve`, imports examples/shop, then runs this).
// Prints "ok <name>" per check and exits 1 on the first failure.
import assert from "node:assert/strict";
import {createClient, FlywheelError, recommendationsHtml, renderRecommendations, trackClicks} from
  "./flywheel.js";

const [url, key] = process.argv.slice(2);
if (!url) {
  console.error("usage: node test_flywheel.mjs URL [KEY]");
  process.exit(2);
}
const fw = createClient({baseUrl: url, key: key || null});

async function check(name, fn) {
  try {
    await fn();
    console.log("ok " + name);
  } catch (e) {
    console.error("FAIL " + name + ": " + (e.stack || e));
    process.exit(1);
  }
}

await check("sendEvent is acknowledged", async () => {
  for (const item of ["tent-2p", "stove-gas", "pot-ti"]) {
    const answer = await fw.sendEvent("js-user", item, "click");
    assert.equal(answer.accepted, 1);
    assert.ok(answer.last_seq > 0);
  }
});

await check("recommend lists items with reasons, not the clicked ones", async () => {
  let answer = null;
  // The learner applies events asynchronously (milliseconds): retry briefly.
  for (let i = 0; i < 50; i++) {
    answer = await fw.recommend("js-user", {k: 5, explain: true});
    if (answer.known_user) {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(answer.known_user, true);
  assert.ok(answer.items.length > 0, "no items");
  for (const rec of answer.items) {
    assert.equal(typeof rec.id, "string");
    assert.equal(typeof rec.reason, "string");
    assert.ok(!["tent-2p", "stove-gas", "pot-ti"].includes(rec.id), "seen item " + rec.id);
  }
});

await check("similar answers for a catalogue item", async () => {
  const answer = await fw.similar("tent-2p", {k: 3});
  assert.ok(Array.isArray(answer.items));
});

await check("a bad event is a FlywheelError naming the field", async () => {
  await assert.rejects(() => fw.sendEvent("js-user", "tent-2p", "no-such-type"), (e) => {
    assert.ok(e instanceof FlywheelError);
    assert.equal(e.status, 400);
    assert.equal(e.code, "invalid_argument");
    assert.equal(e.field, "events[0].type");
    return true;
  });
});

await check("an unknown item's similar list is a 404", async () => {
  await assert.rejects(() => fw.similar("no-such-item"), (e) => e.status === 404);
});

await check("an unreachable server is a FlywheelError with status 0", async () => {
  const dead = createClient({baseUrl: "http://127.0.0.1:9"});
  await assert.rejects(() => dead.recommend("u"), (e) => e instanceof FlywheelError &&
                                                         e.status === 0);
});

await check("recommendationsHtml escapes ids, titles and reasons", async () => {
  const html = recommendationsHtml([{id: "a\"<b>", reason: "because <x> & y"}],
                                   {"a\"<b>": "Tent <b>2p</b>"});
  assert.ok(html.includes('data-item="a&quot;&lt;b&gt;"'), html);
  assert.ok(html.includes("Tent &lt;b&gt;2p&lt;/b&gt;"), html);
  assert.ok(html.includes("because &lt;x&gt; &amp; y"), html);
  assert.ok(!html.includes("<b>"), html);
  assert.match(recommendationsHtml([]), /No recommendations yet/);
});

await check("trackClicks sends a click event for a [data-item] element", async () => {
  // A stand-in for a DOM list element: the listener trackClicks registers, called with a click
  // on an element inside an <li data-item="lantern">.
  const container = {addEventListener(type, fn) { this.type = type; this.listener = fn; }};
  const errors = [];
  trackClicks(container, fw, "js-clicker", (e) => errors.push(e));
  assert.equal(container.type, "click");
  let prevented = false;
  container.listener({
    target: {closest: (selector) => (selector === "[data-item]" ? {dataset: {item: "lantern"}} : null)},
    preventDefault() { prevented = true; },
  });
  assert.ok(prevented);
  let answer = null;
  for (let i = 0; i < 50; i++) {
    answer = await fw.recommend("js-clicker", {k: 3});
    if (answer.known_user) {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(answer.known_user, true, "the click did not reach the server");
  assert.deepEqual(errors, []);
  // A click outside any [data-item] element sends nothing.
  container.listener({target: {closest: () => null}, preventDefault() { throw new Error("no"); }});
});

await check("renderRecommendations fills the list element", async () => {
  const list = {innerHTML: ""};
  renderRecommendations(list, [{id: "tent-2p", reason: "popular"}], {"tent-2p": "Ridgeline"});
  assert.ok(list.innerHTML.includes('<li data-item="tent-2p"><a href="#">Ridgeline</a>'),
            list.innerHTML);
});
