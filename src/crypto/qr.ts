/**
 * QR codes for key text and links, through the `qrcode` package. Plain key
 * text (upper-case A-Z, 2-7) fits QR's compact alphanumeric mode.
 * Error correction M: survives a smudge, keeps the code small enough to scan
 * from a terminal.
 */
import QRCode from 'qrcode';

const ERROR_CORRECTION = 'M' as const;
const PNG_WIDTH = 512;

export function keyQrTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: ERROR_CORRECTION });
}

export function keyQrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', width: PNG_WIDTH, errorCorrectionLevel: ERROR_CORRECTION });
}

export function keyQrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: ERROR_CORRECTION });
}
