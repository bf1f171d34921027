/** Small key/value state shared by every module (settings such as the GitLab URL, watermarks). */
export interface StateTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface CoreTables {
  state: StateTable;
}
