import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';

/** axe-core from node_modules (a dev dependency), or the copy AXE_CORE_PATH names (a shared checkout whose node_modules lacks it). */
const axeSource = () => process.env.AXE_CORE_PATH ?? path.join(path.dirname(createRequire(import.meta.url).resolve('axe-core')), 'axe.min.js');

/** axe-core's WCAG 2 A/AA checks on the page as it is now: the violations, summarized (empty: none). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated, not a <script> tag: the dashboard's Content-Security-Policy refuses inline scripts.
  await page.evaluate(readFileSync(axeSource(), 'utf8'));
  const result = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })`)) as {
    violations: { id: string; help: string; nodes: { target: string[] }[] }[];
  };
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
