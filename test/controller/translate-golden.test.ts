// Golden tests of the translator: test/golden/<case>/in.yaml → out.ir.json and
// out.status.yaml. `UPDATE_GOLDEN=1 npm test` rewrites the outputs (and prunes those of
// removed cases); the diff is the review.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/lib/paths.js';
import { translate } from '../../src/controller/translate/index.js';
import { validateConfig } from '../../src/ir/validate.js';
import { loadGoldenInput, renderIr, renderStatus } from './golden-support.js';

const goldenRoot = join(packageRoot, 'test', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

describe('translate: golden cases (test/golden/<case>)', function () {
  const cases = readdirSync(goldenRoot).filter((entry) => existsSync(join(goldenRoot, entry, 'in.yaml'))).sort();
  if (update) {
    for (const entry of readdirSync(goldenRoot)) {
      if (!cases.includes(entry)) rmSync(join(goldenRoot, entry), { recursive: true, force: true });
    }
  }

  it('has cases', function () {
    expect(cases.length).to.be.greaterThan(0);
  });

  for (const name of cases) {
    it(name, async function () {
      const dir = join(goldenRoot, name);
      const input = await loadGoldenInput(readFileSync(join(dir, 'in.yaml'), 'utf8'));
      const translation = translate(input.snapshot, input.options);
      const validation = validateConfig({ version: 'golden', listeners: translation.listeners });
      expect(validation.ok, `the IR passes the proxy's validator: ${JSON.stringify(validation.ok ? [] : validation.problems.map((p) => `${p.path}: ${p.message}`))}`).to.equal(true);
      const ir = renderIr(translation, input.placeholders);
      const status = renderStatus(translation, input.placeholders);
      if (update) {
        writeFileSync(join(dir, 'out.ir.json'), ir);
        writeFileSync(join(dir, 'out.status.yaml'), status);
        return;
      }
      expect(existsSync(join(dir, 'out.ir.json')), `${name}/out.ir.json exists (run UPDATE_GOLDEN=1 npm test)`).to.equal(true);
      expect(ir, `${name}/out.ir.json`).to.equal(readFileSync(join(dir, 'out.ir.json'), 'utf8'));
      expect(status, `${name}/out.status.yaml`).to.equal(readFileSync(join(dir, 'out.status.yaml'), 'utf8'));
    });
  }
});
