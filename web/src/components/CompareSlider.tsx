import { useState } from "react";

interface Props {
  before?: string;
  after: string;
  name: string;
}

/**
 * Before/after: the result fills the frame and the original is revealed over it up to the slider.
 * The slider is a real range input, so it works with arrows, Home/End and screen readers.
 */
export function CompareSlider({ before, after, name }: Props) {
  const [pos, setPos] = useState(50);
  if (!before) return <img className="frame-img" src={after} alt={`${name}, edited`} />;
  return (
    <div className="compare" style={{ "--pos": `${pos}%` } as React.CSSProperties}>
      <img className="frame-img" src={after} alt={`${name}, edited`} draggable={false} />
      <img className="frame-img before" src={before} alt={`${name}, original`} draggable={false} />
      <span className="compare-line" aria-hidden="true" />
      <span className="compare-tag left" aria-hidden="true">
        Before
      </span>
      <span className="compare-tag right" aria-hidden="true">
        After
      </span>
      <input
        type="range"
        className="compare-range"
        min={0}
        max={100}
        value={pos}
        onChange={(e) => setPos(Number(e.target.value))}
        onClick={(e) => e.stopPropagation()}
        aria-label={`Compare original and edited ${name}`}
        aria-valuetext={`${pos}% original`}
      />
    </div>
  );
}
