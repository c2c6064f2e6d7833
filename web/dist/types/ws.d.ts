import { Conn, OpenOptions } from "./transport";
/** closeCode maps a WebSocket close status back to a tickwire code (§2.3 "Closing"). */
export declare function closeCode(status: number): number;
/** wsURL is the WebSocket route on the API's origin (ws: or wss:). */
export declare function wsURL(base: string): string;
/** openWebSocket connects the WebSocket transport. */
export declare function openWebSocket(o: OpenOptions): Promise<Conn>;
