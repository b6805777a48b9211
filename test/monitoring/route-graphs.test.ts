import { App, CfnResource, Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { addRouteGraphs, GraphedRoute, RouteGraphPattern, RouteGraphs } from '../../src/monitoring/route-graphs';

const ROUTES: GraphedRoute[] = [
  { method: 'GET', path: '/orders/{id}' },
  { method: 'POST', path: '/orders' },
  // Values that look like JSON, a Velocity reference, or another route's values.
  { method: 'DELETE', path: '/a/"quoted"/$context/{id}' },
  { method: 'GET', path: '/orders' },
];

/** A route's graph as the dashboard draws it; the API name is a reference, as with a tokenized name. */
function pattern(apiName: string): RouteGraphPattern {
  return (r) => {
    const api = (metricName: string, statistic: string) => new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway', metricName, statistic, dimensionsMap: { ApiName: apiName, Method: r.method, Resource: r.path },
    });
    return new cloudwatch.GraphWidget({
      title: r.name,
      left: [api('Latency', 'p99'), new cloudwatch.Metric({ namespace: 'SecureDbApi', metricName: 'QueryDuration', statistic: 'p99', dimensionsMap: { Route: r.name, service: apiName } })],
      right: [api('Count', 'Sum'), api('5XXError', 'Sum')],
      width: 8,
      height: 6,
    });
  };
}

/** The resolved body of a dashboard with a text row and then `rows`, and `routes`' graphs added by addRouteGraphs. */
function body(stack: Stack, id: string, rows: cloudwatch.IWidget[][], routes?: { routes: GraphedRoute[]; pattern: RouteGraphPattern }): unknown {
  const dashboard = new cloudwatch.Dashboard(stack, id, { widgets: [[new cloudwatch.TextWidget({ markdown: '# Routes', width: 24, height: 2 })], ...rows] });
  if (routes) addRouteGraphs(dashboard, routes.routes, routes.pattern);
  // Added after the graphs, as a user would through SecureDbApi.dashboard.
  dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: '# More', width: 24, height: 1 }));
  return stack.resolve((dashboard.node.defaultChild as cloudwatch.CfnDashboard).dashboardBody);
}

const named = (r: GraphedRoute) => ({ ...r, name: `${r.method} ${r.path}` });

/** The routes' graphs in rows of three, as a dashboard 24 wide holds graphs 8 wide. */
const rowsOfThree = (make: RouteGraphPattern) => [0, 3].map((i) => ROUTES.slice(i, i + 3).map((r) => make(named(r))));

describe('addRouteGraphs', () => {
  test('writes for each route, three to a row, the JSON aws-cdk-lib writes for its graph in rows of three', () => {
    for (const env of [{ account: '111111111111', region: 'eu-west-1' }, undefined]) {
      for (const apiName of ['orders', Fn.ref('ApiName')]) {
        const stack = new Stack(new App(), 'Graphs', { env });
        const ours = body(stack, 'Ours', [], { routes: ROUTES, pattern: pattern(apiName) });
        const theirs = body(stack, 'Theirs', rowsOfThree(pattern(apiName)));
        expect(ours).toEqual(theirs);
        expect(JSON.stringify(ours)).toContain('\\"Resource\\",\\"/a/\\\\\\"quoted\\\\\\"/$context/{id}\\"');
        expect(JSON.stringify(ours)).not.toContain('u0000');
      }
    }
  });

  test('with no reference in the body, writes it as one string, as aws-cdk-lib does', () => {
    const stack = new Stack(new App(), 'Plain', { env: { account: '111111111111', region: 'eu-west-1' } });
    const literal: RouteGraphPattern = (r) => new cloudwatch.TextWidget({ markdown: r.name, width: 8, height: 2 });
    const ours = body(stack, 'Ours', [], { routes: ROUTES, pattern: literal });
    expect(typeof ours).toBe('string');
    expect(ours).toEqual(body(stack, 'Theirs', rowsOfThree(literal)));
  });

  test('a graph naming a resource of another stack gets its value through an export, as aws-cdk-lib\'s graphs do', () => {
    const app = new App();
    const env = { account: '111111111111', region: 'eu-west-1' };
    const producer = new Stack(app, 'Producer', { env });
    const exported = new CfnResource(producer, 'Thing', { type: 'AWS::SNS::Topic' });
    const ours = new Stack(app, 'Ours', { env });
    const theirs = new Stack(app, 'Theirs', { env });
    body(ours, 'Dashboard', [], { routes: ROUTES, pattern: pattern(exported.ref) });
    body(theirs, 'Dashboard', rowsOfThree(pattern(exported.ref)));
    const bodyOf = (stack: Stack) => Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody;
    expect(JSON.stringify(bodyOf(ours))).toContain('Fn::ImportValue');
    expect(bodyOf(ours)).toEqual(bodyOf(theirs));
  });
});

describe('RouteGraphs', () => {
  test('takes the width of the graphs in a row and the height of its rows, and lays out a placeholder of that size', () => {
    const graphs = new RouteGraphs(ROUTES, pattern('orders'));
    expect([graphs.width, graphs.height]).toEqual([24, 12]);
    graphs.position(0, 2);
    expect(graphs.toJson()).toEqual([{ type: 'text', width: 24, height: 12, x: 0, y: 2, properties: { markdown: expect.stringMatching(/^\u0000/) } }]);
    // Fewer graphs than a row holds: only as wide as they are.
    expect([new RouteGraphs(ROUTES.slice(0, 2), pattern('orders')).width, new RouteGraphs(ROUTES.slice(0, 1), pattern('orders')).height]).toEqual([16, 6]);
  });

  test('makes one graph for all routes', () => {
    const make = jest.fn(pattern('orders'));
    const stack = new Stack(new App(), 'One', { env: { account: '111111111111', region: 'eu-west-1' } });
    body(stack, 'Ours', [], { routes: ROUTES, pattern: make });
    expect(make).toHaveBeenCalledTimes(1);
  });

  test('refuses a pattern that hides a route\'s value inside a longer string', () => {
    const stack = new Stack(new App(), 'Hidden', { env: { account: '111111111111', region: 'eu-west-1' } });
    const hiding: RouteGraphPattern = (r) => new cloudwatch.TextWidget({ markdown: `route ${r.name}`, width: 8, height: 2 });
    expect(() => body(stack, 'Ours', [], { routes: ROUTES, pattern: hiding })).toThrow(/stand-in for a route's value that is not a whole string/);
  });
});

test('a synthesis writes the route graphs out once when they hold no reference, not at each resolution of the body', () => {
  const stack = new Stack(new App(), 'Once', { env: { account: '111111111111', region: 'eu-west-1' } });
  const toJsonString = jest.spyOn(stack, 'toJsonString');
  try {
    body(stack, 'Ours', [], { routes: ROUTES, pattern: pattern('orders') });
    const calls = toJsonString.mock.calls.length;
    const dashboard = stack.node.findChild('Ours').node.defaultChild as cloudwatch.CfnDashboard;
    const again = stack.resolve(dashboard.dashboardBody);
    // aws-cdk-lib's own body (with the placeholder) is written again; the graphs are not.
    expect(toJsonString.mock.calls.length - calls).toBe(1);
    expect(again).toEqual(body(stack, 'Theirs', rowsOfThree(pattern('orders'))));
  } finally {
    toJsonString.mockRestore();
  }
});
