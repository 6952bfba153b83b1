// The viewer's filter parser (frontend/static/frontend/js/filterexpr.js) on the
// cases the server's parser also runs (tests/support/filter_cases.json).
// Run by tests/viewer/test_filterexpr_js.py, or alone: node --test tests/viewer/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { URL } from "node:url";

import { FilterError, parseFilter } from "../../frontend/static/frontend/js/filterexpr.js";

const shared = JSON.parse(readFileSync(new URL("../support/filter_cases.json", import.meta.url), "utf8"));

function filterText(item) {
  if ("filter" in item) return item.filter;
  const [opening, times, middle, closing, closingTimes] = item.filter_repeat;
  return opening.repeat(times) + middle + closing.repeat(closingTimes);
}

for (const item of shared.cases) {
  const text = filterText(item);
  test(text.slice(0, 80), () => {
    if ("error" in item) {
      assert.throws(() => parseFilter(text, shared.columns), (error) => {
        assert.ok(error instanceof FilterError);
        assert.equal(error.message, item.error);
        return true;
      });
    } else {
      const keep = parseFilter(text, shared.columns);
      assert.deepEqual(shared.rows.filter(keep).map((row) => row.name), item.matches);
    }
  });
}

test("prototype keys are never read from Object.prototype", () => {
  const keep = parseFilter("constructor ~ 'function' or toString ~ 'native' or __proto__ ~ 'object'");
  assert.equal(keep({ name: "a", ra: 0, dec: 0, extra: {} }), false);
  assert.equal(keep({ name: "a", ra: 0, dec: 0, extra: JSON.parse('{"__proto__": "an object"}') }), true);
});
