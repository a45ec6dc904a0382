/**
 * The string fed to the graph for a missing categorical value. It is not among any model's categories, so the
 * graph's LabelEncoder maps it to "missing" exactly like an unseen category.
 */
export const MISSING_CATEGORY = '\u241fkeel:missing\u241f';
