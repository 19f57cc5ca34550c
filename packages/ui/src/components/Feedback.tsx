/**
 * How failures and waits look everywhere: an alert naming what failed and
 * what to do (never a blank area), and a boundary that turns a rendering
 * fault into such a message instead of an empty page.
 */
import { Component, type ReactNode } from 'react';

export function ErrorMessage({ error, testId = 'error' }: { error: unknown; testId?: string }) {
  if (!error) return null;
  const text = error instanceof Error ? error.message : String(error);
  return (
    <div className="error-message" role="alert" data-testid={testId}>
      {text}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      {what}…
    </div>
  );
}

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | undefined }> {
  override state: { error: Error | undefined } = { error: undefined };
  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }
  override render(): ReactNode {
    if (this.state.error) {
      return (
        <div className="error-message" role="alert">
          This screen failed to render: {this.state.error.message}. Reload the page; if it happens again, report it with the query in the address bar.
        </div>
      );
    }
    return this.props.children;
  }
}
