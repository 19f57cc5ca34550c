import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelName, severityFromHttpStatus, severityFromLevelValue, severityFromPinoLevel, severityFromSyslog, severityFromText, severityName } from './severity.js';

test('level words of common loggers map as the OpenTelemetry appendix does', () => {
  const cases: [string, number][] = [
    // logrus / zap / slog / log4j
    ['trace', 1], ['debug', 5], ['info', 9], ['warn', 13], ['warning', 13], ['error', 17], ['dpanic', 18], ['panic', 19], ['fatal', 21],
    // Python logging
    ['DEBUG', 5], ['INFO', 9], ['WARNING', 13], ['ERROR', 17], ['CRITICAL', 21],
    // syslog keywords
    ['emerg', 21], ['alert', 19], ['crit', 18], ['err', 17], ['notice', 10], ['informational', 9],
    // java.util.logging and .NET
    ['FINEST', 1], ['FINER', 5], ['FINE', 6], ['CONFIG', 7], ['SEVERE', 17], ['Verbose', 5], ['Information', 9],
    // one letter (klog) and padding
    ['E', 17], ['w', 13], ['  Info ', 9],
  ];
  for (const [word, n] of cases) assert.equal(severityFromText(word), n, word);
  assert.equal(severityFromText('banana'), 0);
  assert.equal(severityFromText(''), 0);
});

test('numeric levels: syslog 0..7, pino/bunyan 10..60, as numbers or text', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(severityFromSyslog), [21, 19, 18, 17, 13, 10, 9, 5]);
  assert.equal(severityFromSyslog(8), 0);
  assert.deepEqual([10, 20, 30, 40, 50, 60].map(severityFromPinoLevel), [1, 5, 9, 13, 17, 21]);
  assert.equal(severityFromPinoLevel(35), 9, 'custom pino levels fall into the range below them');
  assert.equal(severityFromPinoLevel(5), 0);
  assert.equal(severityFromPinoLevel(70), 0);
  assert.equal(severityFromLevelValue(50), 17);
  assert.equal(severityFromLevelValue('40'), 13);
  assert.equal(severityFromLevelValue('warn'), 13);
  assert.equal(severityFromLevelValue(true), 0);
  assert.equal(severityFromLevelValue('4000'), 0);
});

test('names and HTTP status classes', () => {
  assert.equal(severityName(9), 'INFO');
  assert.equal(severityName(18), 'ERROR2');
  assert.equal(severityName(24), 'FATAL4');
  assert.equal(severityName(0), '');
  assert.equal(levelName(18), 'error');
  assert.equal(levelName(0), 'unknown');
  assert.equal(severityFromHttpStatus(503), 17);
  assert.equal(severityFromHttpStatus(404), 13);
  assert.equal(severityFromHttpStatus(204), 9);
});
