// Prometheus exposition and the cross-worker merge.
import { expect } from 'chai';
import { mergeSnapshots, MetricsRegistry, renderPrometheus } from '../../src/lib/metrics.js';

describe('metrics', () => {
  it('renders counters and gauges with escaped labels (text format 0.0.4)', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter('x_total', 'Things.', ['listener', 'reason']);
    counter.inc(['a"b', 'why\\not']);
    counter.inc(['a"b', 'why\\not'], 2);
    registry.gauge('y', 'Level.').set([], 1.5);
    expect(renderPrometheus(registry.snapshot())).to.equal(
      '# HELP x_total Things.\n# TYPE x_total counter\nx_total{listener="a\\"b",reason="why\\\\not"} 3\n# HELP y Level.\n# TYPE y gauge\ny 1.5\n',
    );
  });

  it('incPair counts into the same sample as inc with the two label values', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter('http_total', 'Requests.', ['listener', 'code']);
    counter.inc(['https', '200']);
    counter.incPair('https', '200');
    counter.incPair('https', '404', 2);
    expect(renderPrometheus(registry.snapshot())).to.equal('# HELP http_total Requests.\n# TYPE http_total counter\nhttp_total{listener="https",code="200"} 2\nhttp_total{listener="https",code="404"} 2\n');
  });

  it('sums counters and the named gauges across processes; other gauges keep the last value', () => {
    const make = (n: number) => {
      const registry = new MetricsRegistry();
      registry.counter('c_total', 'C.', ['l']).inc(['x'], n);
      registry.gauge('active', 'A.', ['l']).set(['x'], n);
      registry.gauge('info', 'I.', ['v']).set(['v1'], 1);
      return registry.snapshot();
    };
    const text = renderPrometheus(mergeSnapshots([make(1), make(2)], new Set(['active'])));
    expect(text).to.contain('c_total{l="x"} 3\n');
    expect(text).to.contain('active{l="x"} 3\n');
    expect(text).to.contain('info{v="v1"} 1\n');
  });
});
