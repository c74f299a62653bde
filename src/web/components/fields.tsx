import type { ReactNode } from 'react';

// Form parts: a labelled text field, a labelled choice, and a form that never reloads the page.

export function Field({
  label,
  name,
  value,
  onChange,
  mode,
  placeholder,
}: {
  label: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  mode?: 'decimal' | 'numeric';
  placeholder?: string;
}) {
  return (
    <label>
      {label}
      <input
        name={name}
        inputMode={mode}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        autoComplete="off"
        spellCheck={false}
      />
    </label>
  );
}

export function Choice({
  label,
  name,
  value,
  onChange,
  options,
}: {
  label: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  options: string[];
}) {
  return (
    <label>
      {label}
      <select name={name} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Form({ onSubmit, className = 'form', children }: { onSubmit: () => void; className?: string; children: ReactNode }) {
  return (
    <form
      className={className}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}
