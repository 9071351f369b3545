import Hummingbird
import NIOCore

/// The block explorer (docs/explorer.md): three static files compiled into the binary (`PackageResources`, from
/// Sources/AssayRPC/Explorer), served at `GET /` and `GET /explorer/{name}`. A name is looked up in a fixed table,
/// so no request path reaches the file system; the Content-Security-Policy lets the page load only these files and
/// talk only to this node.
struct ExplorerRoutes: Sendable {
    struct File: Sendable {
        let bytes: [UInt8]
        let contentType: String
    }

    static let files: [String: File] = [
        "index.html": File(bytes: PackageResources.index_html, contentType: "text/html; charset=utf-8"),
        "app.js": File(bytes: PackageResources.app_js, contentType: "text/javascript; charset=utf-8"),
        "style.css": File(bytes: PackageResources.style_css, contentType: "text/css; charset=utf-8"),
    ]

    /// Same origin only: no remote scripts, styles, images, fonts or connections; no inline script; no framing.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.response(for: "index.html") }
        router.get("/explorer/:name") { _, context in
            Self.response(for: context.parameters.get("name") ?? "")
        }
    }

    static func response(for name: String) -> Response {
        guard let file = files[name] else {
            return Response(
                status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "no explorer file named \(name.prefix(64))\n")))
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: file.contentType, .contentSecurityPolicy: contentSecurityPolicy,
                .xContentTypeOptions: "nosniff", .cacheControl: "no-cache",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}
