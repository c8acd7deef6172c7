import { useState } from "react";

interface Props {
  before?: string;
  after: string;
  name: string;
}

/**
 * Before/after: the result fills the frame and the original is revealed over it up to the slider.
 * The slider is a real range input, so it works with arrows, Home/End and screen readers.
 * The parent keys it by both URLs, so a new result starts with a fresh load state.
 */
export function CompareSlider({ before, after, name }: Props) {
  const [pos, setPos] = useState(50);
  // Browsers cannot draw every format the service reads and writes (TIFF): a picture that does not
  // load would show as a broken image with its alt text over the frame. Without an original the
  // result is shown alone; without a result picture the card says so (its facts and Download stay).
  const [beforeFailed, setBeforeFailed] = useState(false);
  const [afterFailed, setAfterFailed] = useState(false);
  if (afterFailed)
    return (
      <div className="frame-empty no-preview" data-testid="no-preview">
        No preview: this browser cannot show the result's format
      </div>
    );
  const result = (
    <img
      className="frame-img"
      src={after}
      alt={`${name}, edited`}
      draggable={false}
      onError={() => setAfterFailed(true)}
    />
  );
  if (!before || beforeFailed) return result;
  return (
    <div className="compare" style={{ "--pos": `${pos}%` } as React.CSSProperties}>
      {result}
      <img
        className="frame-img before"
        src={before}
        alt={`${name}, original`}
        draggable={false}
        onError={() => setBeforeFailed(true)}
      />
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
