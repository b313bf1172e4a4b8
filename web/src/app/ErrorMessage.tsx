export function ErrorMessage({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" data-testid="error">
      {error}
    </p>
  );
}
