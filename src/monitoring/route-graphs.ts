import { IResolvable, IResolveContext, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** A route as the dashboard names it. */
export interface GraphedRoute {
  readonly method: string;
  readonly path: string;
}

/**
 * Stand-ins for a route's values in the pattern, and for the position of its graph: a NUL
 * character comes from no route, method or path (the construct refuses them) and from no widget of
 * aws-cdk-lib's.
 */
const METHOD = '\u0000method';
const PATH = '\u0000path';
const ROUTE = '\u0000route';
const X = '\u0000x';
const Y = '\u0000y';

/** The stand-ins as JSON writes them, quotes included: what is replaced in the pattern's text. */
const WRITTEN = {
  method: JSON.stringify(METHOD),
  path: JSON.stringify(PATH),
  route: JSON.stringify(ROUTE),
  x: JSON.stringify(X),
  y: JSON.stringify(Y),
};

/** The markdown of the placeholder written where the graphs go. */
const PLACEHOLDER = '\u0000SecureDbApi route graphs';

/**
 * The graph of one route, made from stand-ins for its method, path and `METHOD /path` name: the
 * dimension values and the title, each a whole string. Called once per dashboard.
 */
export type RouteGraphPattern = (route: { readonly method: string; readonly path: string; readonly name: string }) => cloudwatch.IWidget;

/** A resolved JSON text: a string, or the parts CloudFormation joins (strings and references). */
type JsonText = string | { 'Fn::Join': [string, unknown[]] };

/**
 * One graph per route, as many to a row as fit the dashboard's width of 24, as if the dashboard had been
 * given them in rows of that many (`addRouteGraphs`).
 *
 * aws-cdk-lib builds a `GraphWidget` and its metrics for every graph, and writes the dashboard's whole
 * body out anew, every value of it walked for references, at each of the three resolutions of a synthesis
 * (the search for cross-stack references, the template, the construct tree): with a graph per route, that
 * was the largest part of what a route cost at synthesis beyond aws-cdk-lib's own route. Here aws-cdk-lib
 * builds and writes one graph, made with stand-ins for a route's values, and each route's graph is that
 * text with the route's values written in: the text aws-cdk-lib would write for it. The widget itself
 * writes a placeholder of its size into the body; `RouteGraphsBody` puts the graphs in its place.
 */
export class RouteGraphs implements cloudwatch.IWidget {
  public readonly width: number;
  public readonly height: number;
  public readonly warnings?: string[];
  public readonly warningsV2?: { [id: string]: string };
  private readonly pattern: cloudwatch.IWidget;
  /** Graphs in a row. */
  private readonly across: number;
  private x = 0;
  private y = 0;

  constructor(private readonly routes: readonly GraphedRoute[], pattern: RouteGraphPattern) {
    this.pattern = pattern({ method: METHOD, path: PATH, name: ROUTE });
    this.across = Math.max(1, Math.floor(cloudwatch.GRID_WIDTH / this.pattern.width));
    this.width = this.pattern.width * Math.min(this.across, routes.length);
    this.height = this.pattern.height * Math.ceil(routes.length / this.across);
    this.warnings = this.pattern.warnings;
    this.warningsV2 = this.pattern.warningsV2;
  }

  public position(x: number, y: number): void {
    this.x = x;
    this.y = y;
  }

  /** What aws-cdk-lib writes into the body at this widget's position: the placeholder. */
  public toJson(): unknown[] {
    return [this.placeholder()];
  }

  /** A text widget no dashboard holds otherwise, at this widget's position. */
  public placeholder(): object {
    return { type: 'text', width: this.width, height: this.height, x: this.x, y: this.y, properties: { markdown: PLACEHOLDER } };
  }

  /**
   * Every route's graph at this widget's position, as the parts of a JSON text (the graphs separated by
   * commas, without the brackets of a list), written as `stack.toJsonString` writes JSON.
   */
  public text(context: IResolveContext, stack: Stack): unknown[] {
    this.pattern.position(this.x, this.y);
    const widgets = this.pattern.toJson().map((w) => ({ ...(w as object), x: X, y: Y }));
    const pattern = listItems(partsOf(context.resolve(stack.toJsonString(widgets))));
    const text: unknown[] = [];
    this.routes.forEach((r, i) => {
      const values: Record<string, string> = {
        [WRITTEN.method]: JSON.stringify(r.method),
        [WRITTEN.path]: JSON.stringify(r.path),
        [WRITTEN.route]: JSON.stringify(`${r.method} ${r.path}`),
        [WRITTEN.x]: String(this.x + (i % this.across) * this.pattern.width),
        [WRITTEN.y]: String(this.y + Math.floor(i / this.across) * this.pattern.height),
      };
      if (i > 0) text.push(',');
      for (const part of pattern) text.push(typeof part === 'string' ? withValues(part, values) : part);
    });
    // A stand-in that was not a whole string of the pattern (inside a reference, in a longer string) would
    // be left in the text.
    if (JSON.stringify(text).includes(JSON.stringify('\u0000').slice(1, -1))) {
      throw new Error('SecureDbApi: a route graph holds a stand-in for a route\'s value that is not a whole string');
    }
    return text;
  }
}

/** Adds the graphs of `routes` to `dashboard`, as many to a row as fit. */
export function addRouteGraphs(dashboard: cloudwatch.Dashboard, routes: readonly GraphedRoute[], pattern: RouteGraphPattern): void {
  const graphs = new RouteGraphs(routes, pattern);
  dashboard.addWidgets(graphs);
  const body = dashboard.node.defaultChild;
  if (!(body instanceof cloudwatch.CfnDashboard)) throw new Error(`SecureDbApi: ${dashboard.node.path} has no CfnDashboard to write the route graphs into`);
  body.dashboardBody = Token.asString(new RouteGraphsBody(body.dashboardBody, graphs, Stack.of(dashboard)));
}

/**
 * The dashboard body as aws-cdk-lib writes it, with the route graphs in the place of their placeholder.
 * The graphs' text is kept for later resolutions when the only references in it are pseudo parameters
 * (`AWS::Region`): what a reference to another stack resolves to changes when the app is prepared.
 */
class RouteGraphsBody implements IResolvable {
  public readonly creationStack: string[] = [];
  private kept?: { readonly at: string; readonly text: unknown[] };

  constructor(private readonly body: string, private readonly graphs: RouteGraphs, private readonly stack: Stack) {}

  public resolve(context: IResolveContext): unknown {
    // aws-cdk-lib's body, with the placeholder where the graphs go (writing it positions the graphs).
    const body = partsOf(context.resolve(this.body));
    const placeholder = JSON.stringify(this.graphs.placeholder());
    const at = body.findIndex((p) => typeof p === 'string' && p.includes(placeholder));
    if (at < 0) throw new Error('SecureDbApi: the dashboard body lost the placeholder of its route graphs');
    const [before, ...after] = (body[at] as string).split(placeholder);
    if (after.length !== 1) throw new Error('SecureDbApi: the dashboard body holds the placeholder of its route graphs twice');
    let graphs: unknown[];
    if (this.kept?.at === placeholder) {
      graphs = this.kept.text;
    } else {
      graphs = this.graphs.text(context, this.stack);
      if (graphs.every((p) => typeof p === 'string' || isPseudoParameter(p))) this.kept = { at: placeholder, text: graphs };
    }
    return joined([...body.slice(0, at), before, ...graphs, after[0], ...body.slice(at + 1)]);
  }

  public toString(): string {
    return 'RouteGraphsBody';
  }
}

/** The parts of a resolved JSON text. */
function partsOf(text: unknown): unknown[] {
  if (typeof text === 'string') return [text];
  const join = (text as JsonText & object)['Fn::Join'];
  if (Array.isArray(join) && join[0] === '' && Array.isArray(join[1])) return join[1];
  throw new Error('SecureDbApi: a dashboard body resolved to something other than a JSON text');
}

/** The parts of a JSON list's text without its brackets. */
function listItems(list: unknown[]): unknown[] {
  const first = list[0];
  const last = list[list.length - 1];
  if (typeof first !== 'string' || !first.startsWith('[') || typeof last !== 'string' || !last.endsWith(']')) {
    throw new Error('SecureDbApi: the route graphs did not render as a JSON list');
  }
  return list.length === 1 ? [first.slice(1, -1)] : [first.slice(1), ...list.slice(1, -1), last.slice(0, -1)];
}

/** `text` with every stand-in (as JSON writes it, quotes included) replaced by its value's JSON. */
function withValues(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [standIn, value] of Object.entries(values)) out = out.split(standIn).join(value);
  return out;
}

/** The parts joined as aws-cdk-lib joins them: adjacent strings are one, a single string stands alone. */
function joined(parts: unknown[]): JsonText {
  const out: unknown[] = [];
  for (const p of parts) {
    const previous = out[out.length - 1];
    if (typeof p === 'string' && typeof previous === 'string') out[out.length - 1] = previous + p;
    else out.push(p);
  }
  return out.length === 1 && typeof out[0] === 'string' ? out[0] : { 'Fn::Join': ['', out] };
}

/** `{ Ref: 'AWS::Region' }` and the like: the same in every stack and at every resolution. */
function isPseudoParameter(part: unknown): boolean {
  if (part === null || typeof part !== 'object') return false;
  const ref = (part as { Ref?: unknown }).Ref;
  return Object.keys(part).length === 1 && typeof ref === 'string' && ref.startsWith('AWS::');
}
