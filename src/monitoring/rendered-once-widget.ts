import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/**
 * A widget whose JSON is rendered once for each position it is given. aws-cdk-lib renders a dashboard's
 * whole body each time the body is resolved, three times in a synthesis (the search for cross-stack
 * references, the template, the construct tree), and a `GraphWidget` renders each of its metrics afresh
 * every time. (The routes' graphs, one per route, are written more cheaply still: see route-graphs.ts.)
 * The widgets wrapped here are never changed after they are made, so the JSON rendered at a position is
 * the JSON of every later rendering at that position.
 */
export class RenderedOnceWidget implements cloudwatch.IWidget {
  public readonly width: number;
  public readonly height: number;
  public readonly warnings?: string[];
  public readonly warningsV2?: { [id: string]: string };
  private x = 0;
  private y = 0;
  private rendered?: { readonly x: number; readonly y: number; readonly json: unknown[] };

  constructor(private readonly widget: cloudwatch.IWidget) {
    this.width = widget.width;
    this.height = widget.height;
    this.warnings = widget.warnings;
    this.warningsV2 = widget.warningsV2;
  }

  public position(x: number, y: number): void {
    this.x = x;
    this.y = y;
    this.widget.position(x, y);
  }

  public toJson(): unknown[] {
    const kept = this.rendered;
    if (kept && kept.x === this.x && kept.y === this.y) return kept.json;
    const json = this.widget.toJson();
    this.rendered = { x: this.x, y: this.y, json };
    return json;
  }
}
