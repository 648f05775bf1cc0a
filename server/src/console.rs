//! The web console (issue 15): plain HTML, CSS and JavaScript modules from
//! `server/console/`, embedded in the binary and served at `/` and
//! `/ui/{file}`. Every page is drawn in the browser from the HTTP API; the
//! files themselves are public (no secret is in them), and each API call
//! the console makes is authorized by the route table like any other.
//!
//! Pages are addressed by the URL fragment (`/#/ns/shop/schemas/billing`),
//! so every deep link loads `index.html` from `/` and nothing else needs a
//! server route.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

/// One embedded file: its name under `/ui/`, media type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

static ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: HTML,
        body: include_bytes!("../console/index.html"),
    },
    Asset {
        name: "console.css",
        content_type: CSS,
        body: include_bytes!("../console/console.css"),
    },
    Asset {
        name: "app.js",
        content_type: JS,
        body: include_bytes!("../console/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JS,
        body: include_bytes!("../console/api.js"),
    },
    Asset {
        name: "dom.js",
        content_type: JS,
        body: include_bytes!("../console/dom.js"),
    },
    Asset {
        name: "highlight.js",
        content_type: JS,
        body: include_bytes!("../console/highlight.js"),
    },
    Asset {
        name: "pages.js",
        content_type: JS,
        body: include_bytes!("../console/pages.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../console/favicon.svg"),
    },
];

/// Strong ETags (a prefix of the SHA-256), computed once.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| format!("\"{}\"", &hex::encode(Sha256::digest(asset.body))[..32]))
        .collect()
});

/// Same-origin only: scripts, styles and API calls from this server, no
/// inline script, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Registers `/`, `/ui`, `/ui/` and `/ui/{file}`, gzip-compressed for
/// clients that accept it (only here: API answers, event streams among
/// them, are not compressed).
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/", "/ui", "/ui/"])
            .wrap(Compress::default())
            .route(web::get().to(index)),
    )
    .service(
        web::resource("/ui/{file}")
            .wrap(Compress::default())
            .route(web::get().to(file)),
    );
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, 0)
}

async fn file(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().position(|asset| asset.name == name.as_str()) {
        Some(i) => serve(&req, i),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!("no console file {name}")),
    }
}

fn serve(req: &HttpRequest, i: usize) -> HttpResponse {
    let asset = &ASSETS[i];
    let etag = &ETAGS[i];
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.as_str()))
        // Names are not fingerprinted: revalidate each time (a 304 when
        // unchanged), so an upgraded server is never mixed with old files.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP));
    if fresh {
        return response.finish();
    }
    response
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ))
        .body(asset.body)
}

#[cfg(test)]
mod tests {
    use actix_web::test as actix_test;
    use actix_web::{App, http::StatusCode};

    use super::*;

    #[actix_web::test]
    async fn serves_files_with_types_etags_and_gzip() {
        let app = actix_test::init_service(App::new().configure(config)).await;
        for (path, want) in [
            ("/", HTML),
            ("/ui/", HTML),
            ("/ui/app.js", JS),
            ("/ui/console.css", CSS),
        ] {
            let req = actix_test::TestRequest::get().uri(path).to_request();
            let response = actix_test::call_service(&app, req).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                want,
                "{path}"
            );
            let etag = response.headers().get(header::ETAG).unwrap().clone();
            let req = actix_test::TestRequest::get()
                .uri(path)
                .insert_header((header::IF_NONE_MATCH, etag))
                .to_request();
            let response = actix_test::call_service(&app, req).await;
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{path}");
        }
        let req = actix_test::TestRequest::get()
            .uri("/ui/app.js")
            .insert_header((header::ACCEPT_ENCODING, "gzip"))
            .to_request();
        let response = actix_test::call_service(&app, req).await;
        assert_eq!(
            response.headers().get(header::CONTENT_ENCODING).unwrap(),
            "gzip"
        );
        let req = actix_test::TestRequest::get()
            .uri("/ui/missing.js")
            .to_request();
        let response = actix_test::call_service(&app, req).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    /// Issue 15's budget: the whole console under 300 KB compressed (it is
    /// about 18 KB; docs/PERFORMANCE.md).
    #[test]
    fn the_console_is_under_300_kb_gzipped() {
        use std::io::Write;
        let total: usize = ASSETS
            .iter()
            .map(|asset| {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(asset.body).unwrap();
                gz.finish().unwrap().len()
            })
            .sum();
        assert!(total < 300 * 1024, "the console is {total} bytes gzipped");
    }

    /// Every file `index.html` and the modules reference is embedded.
    #[test]
    fn every_referenced_file_is_embedded() {
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).unwrap();
            for part in text.split("/ui/").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                    .collect();
                if name.contains('.') {
                    assert!(
                        ASSETS.iter().any(|a| a.name == name),
                        "{} references /ui/{name}",
                        asset.name
                    );
                }
            }
            for part in text.split("from \"./").skip(1) {
                let name = part.split('"').next().unwrap();
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "{} imports ./{name}",
                    asset.name
                );
            }
        }
    }
}
