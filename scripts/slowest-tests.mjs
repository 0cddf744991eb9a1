#!/usr/bin/env node
// Prints the slowest test files of the last vitest run, from the JSON report it writes
// (vitest.config.ts: .vitest/report.json). Usage: npm run test:slowest [-- <report.json> [count]]
import { readFileSync } from 'node:fs';

const [reportPath = '.vitest/report.json', countArg = '15'] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch (error) {
  console.error(`No vitest JSON report at ${reportPath} (${error.code ?? error.message}): run the suite first.`);
  process.exit(1);
}

const root = `${process.cwd()}/`;
const files = report.testResults
  .map((file) => ({
    file: file.name.startsWith(root) ? file.name.slice(root.length) : file.name,
    seconds: (file.endTime - file.startTime) / 1000,
    tests: file.assertionResults.length,
    failed: file.assertionResults.filter((test) => test.status === 'failed').length,
  }))
  .sort((a, b) => b.seconds - a.seconds);

const wall = (report.testResults.length ? Math.max(...report.testResults.map((file) => file.endTime)) - report.startTime : 0) / 1000;
const summed = files.reduce((total, file) => total + file.seconds, 0);
console.log(`${files.length} files, ${report.numTotalTests} tests: ${wall.toFixed(1)} s of wall time, ${summed.toFixed(1)} s summed over files`);
console.log('');
console.log('  seconds  tests  file');
for (const { file, seconds, tests, failed } of files.slice(0, Number(countArg))) {
  console.log(`${seconds.toFixed(1).padStart(9)}  ${String(tests).padStart(5)}  ${file}${failed ? `  (${failed} failed)` : ''}`);
}
