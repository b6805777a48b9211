import { App, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { RenderedOnceWidget } from '../../src/monitoring/rendered-once-widget';
import { postgresApi } from '../helpers/stacks';

function graph(): cloudwatch.GraphWidget {
  const metric = (name: string) => new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName: name, dimensionsMap: { ApiName: 'orders' } });
  return new cloudwatch.GraphWidget({ title: 'GET /orders', left: [metric('Latency')], right: [metric('Count'), metric('5XXError')], width: 8, height: 6 });
}

describe('RenderedOnceWidget', () => {
  test('renders what the wrapped widget renders, once for each position it is given', () => {
    const inner = graph();
    const render = jest.spyOn(inner, 'toJson');
    const widget = new RenderedOnceWidget(inner);
    expect([widget.width, widget.height]).toEqual([8, 6]);

    widget.position(0, 2);
    const first = widget.toJson();
    expect(widget.toJson()).toBe(first);
    expect(render).toHaveBeenCalledTimes(1);
    const reference = graph();
    reference.position(0, 2);
    expect(first).toEqual(reference.toJson());

    widget.position(8, 8);
    expect(widget.toJson()).toEqual([expect.objectContaining({ x: 8, y: 8 })]);
    expect(render).toHaveBeenCalledTimes(2);
  });

  test('passes on the wrapped widget\'s warnings to the dashboard', () => {
    const stack = new Stack(new App(), 'Warnings', { env: { account: '111111111111', region: 'eu-west-1' } });
    const count = new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName: 'Count' });
    // An expression naming a metric it does not define: aws-cdk-lib warns about it on the widget.
    const inner = new cloudwatch.GraphWidget({ left: [new cloudwatch.MathExpression({ expression: 'm1 + m2', usingMetrics: { m1: count } })] });
    expect(Object.keys(inner.warningsV2 ?? {})).not.toHaveLength(0);
    const widget = new RenderedOnceWidget(inner);
    expect(widget.warningsV2).toEqual(inner.warningsV2);
    expect(widget.warnings).toEqual(inner.warnings);
    new cloudwatch.Dashboard(stack, 'Dashboard', { widgets: [[widget]] });
    const warnings = stack.node.findChild('Dashboard').node.metadata.filter((m) => m.type === 'aws:cdk:warning');
    expect(warnings.map((m) => String(m.data))).toEqual([expect.stringContaining('m2')]);
  });
});

test('a synthesis renders each graph of the API\'s dashboard once, and as many graphs for 12 routes as for 2', () => {
  const rendered = (routes: number) => {
    const render = jest.spyOn(cloudwatch.GraphWidget.prototype, 'toJson');
    try {
      const queries = Array.from({ length: routes }, (_, i) => ({ route: `GET /r${i}`, sql: 'SELECT 1 AS one' }));
      const { app, api } = postgresApi({ queries });
      app.synth();
      expect(api.dashboard).toBeInstanceOf(cloudwatch.Dashboard);
      const graphs = render.mock.contexts.filter((w) => w instanceof cloudwatch.GraphWidget);
      expect(new Set(graphs).size).toBe(graphs.length);
      return graphs.length;
    } finally {
      render.mockRestore();
    }
  };
  const two = rendered(2);
  // The API's, the function's, the proxy's and the database's graphs, and one for the routes.
  expect(two).toBeGreaterThan(5);
  expect(rendered(12)).toBe(two);
});
