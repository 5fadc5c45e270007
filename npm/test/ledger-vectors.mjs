// Runs one status-ledger vector through a telhook module: each run applies the events in its
// order to an empty ledger. Shared by the Node test and the workerd test Worker.
/** `[{verdicts, state} | {error}]`, one per run, to compare with the vector's expectations. */
export function runLedgerVector(telhook, vector) {
  return vector.runs.map((run) => {
    let state = null;
    const verdicts = [];
    try {
      for (const index of run.order) {
        const result = telhook.ledgerApply(state, vector.events[index]);
        verdicts.push(result.verdict);
        state = result.state;
      }
    } catch (error) {
      if (error instanceof telhook.TelhookError) return { error: error.code };
      throw error;
    }
    return { verdicts, state };
  });
}

export function expectedRuns(vector) {
  return vector.runs.map((run) =>
    vector.expect.error ? { error: vector.expect.error } : { verdicts: run.verdicts, state: vector.expect.state },
  );
}
