/** A row of a sequence-classification file: `{"text": "...", "label": "spam"}` or `"label": 1`. */
export interface ClassificationRow {
  /** The input text; never empty. */
  text: string;
  /** The class, a string or an integer; one type for the whole file. */
  label: string | number;
}

/** A row of a completion (causal LM fine-tuning) file: `{"prompt": "...", "completion": "..."}`. */
export interface CompletionRow {
  /** Conditioning text; may be empty. Its tokens never count in the loss. */
  prompt: string;
  /** Text the model learns to produce after the prompt; never empty. */
  completion: string;
}

/** A parsed classification file. */
export interface ClassificationDataset {
  kind: 'classification';
  /** Rows in file order, with only the known fields (extra keys are dropped). */
  rows: ClassificationRow[];
  /** Sorted unique labels; a label's index here is its class id. */
  labels: (string | number)[];
  /** Whether the labels are strings or integers. */
  labelType: 'string' | 'number';
}

/** A parsed completion file. */
export interface CompletionDataset {
  kind: 'completion';
  /**
   * Rows in file order, with only the known fields (extra keys are dropped). A chat file gives
   * one row per assistant turn (see `chatRows`).
   */
  rows: CompletionRow[];
  /** `chat` when the file was OpenAI chat rows (`{"messages": [...]}`); absent for prompt/completion rows. */
  format?: 'chat';
}

export type JsonlDataset = ClassificationDataset | CompletionDataset;
